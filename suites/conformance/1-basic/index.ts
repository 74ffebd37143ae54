import type { CatalogueSection } from '../../../harness/conformance/case.js';
import { case1_1 } from './1.1-small-datagram.js';
import { case1_2 } from './1.2-zero-length.js';
import { case1_3 } from './1.3-ephemeral-client-port.js';
import { case1_4 } from './1.4-reply-source-port.js';

/** Catalogue section 1 Basic echo. */
export const SECTION_1: CatalogueSection = {
  title: '1 Basic echo',
  cases: [case1_1, case1_2, case1_3, case1_4],
};
