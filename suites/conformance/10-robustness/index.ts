import type { CatalogueSection } from '../../../harness/conformance/case.js';
import { case10_1 } from './10.1-port-unreachable-storm.js';
import { case10_2 } from './10.2-echo-after-flood.js';
import { case10_3 } from './10.3-echo-after-size-floods.js';
import { case10_4 } from './10.4-memory-and-descriptors.js';

/** Catalogue section 10 Robustness and liveness. */
export const SECTION_10: CatalogueSection = {
  title: '10 Robustness and liveness',
  cases: [case10_1, case10_2, case10_3, case10_4],
};
