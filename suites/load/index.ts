/** The load gates `echolot load --suite` runs, group by group, in order. */
import type { GateGroup } from '../../harness/load/suite.js';
import { RATE_GATES } from './1-rate.js';
import { CLOSED_LOOP_GATES } from './2-closed-loop.js';

/** Every group of load gates. */
export const LOAD_GATES: readonly GateGroup[] = Object.freeze([RATE_GATES, CLOSED_LOOP_GATES]);
