import type { CatalogueSection } from '../../../harness/conformance/case.js';
import { case7_1 } from './7.1-source-port-echo.js';
import { case7_2 } from './7.2-source-ports-loop-services.js';
import { case7_3 } from './7.3-privileged-port-policy.js';
import { case7_4 } from './7.4-source-port-zero.js';
import { case7_5 } from './7.5-no-amplification.js';
import { case7_6 } from './7.6-flood-throttling.js';

/** Catalogue section 7 Loop and abuse protection. */
export const SECTION_7: CatalogueSection = {
  title: '7 Loop and abuse protection',
  cases: [case7_1, case7_2, case7_3, case7_4, case7_5, case7_6],
};
