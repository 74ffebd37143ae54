import type { CatalogueSection } from '../../../harness/conformance/case.js';
import { case2_1 } from './2.1-all-byte-values.js';
import { case2_2 } from './2.2-nul-bytes.js';
import { case2_3 } from './2.3-invalid-utf8.js';
import { case2_4 } from './2.4-line-endings.js';
import { case2_5 } from './2.5-property-echo.js';
import { case2_6 } from './2.6-property-amplification.js';

/** Catalogue section 2 Payload transparency. */
export const SECTION_2: CatalogueSection = {
  title: '2 Payload transparency',
  cases: [case2_1, case2_2, case2_3, case2_4, case2_5, case2_6],
};
