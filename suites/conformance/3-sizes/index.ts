import type { CatalogueSection } from '../../../harness/conformance/case.js';
import { case3_1 } from './3.1-size-ladder.js';
import { case3_2 } from './3.2-ipv4-maximum.js';
import { case3_3 } from './3.3-ipv6-maximum.js';
import { case3_4 } from './3.4-largest-echoed.js';

/** Catalogue section 3 Sizes. */
export const SECTION_3: CatalogueSection = {
  title: '3 Sizes',
  cases: [case3_1, case3_2, case3_3, case3_4],
};
