import type { CatalogueSection } from '../../../harness/conformance/case.js';
import { case6_1 } from './6.1-concurrent-clients.js';
import { case6_2 } from './6.2-identical-payloads.js';
import { case6_3 } from './6.3-interleaved-bursts.js';

/** Catalogue section 6 Concurrency and isolation. */
export const SECTION_6: CatalogueSection = {
  title: '6 Concurrency and isolation',
  cases: [case6_1, case6_2, case6_3],
};
