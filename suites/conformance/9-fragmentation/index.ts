import type { CatalogueSection } from '../../../harness/conformance/case.js';
import { case9_1 } from './9.1-fragmentation.js';

/** Catalogue section 9 Fragmentation. */
export const SECTION_9: CatalogueSection = {
  title: '9 Fragmentation',
  cases: [case9_1],
};
