import type { CatalogueSection } from '../../../harness/conformance/case.js';
import { case5_1 } from './5.1-exactly-once.js';
import { case5_2 } from './5.2-no-unsolicited.js';
import { case5_3 } from './5.3-reordering.js';

/** Catalogue section 5 Reply cardinality. */
export const SECTION_5: CatalogueSection = {
  title: '5 Reply cardinality',
  cases: [case5_1, case5_2, case5_3],
};
