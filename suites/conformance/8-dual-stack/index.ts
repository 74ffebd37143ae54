import type { CatalogueSection } from '../../../harness/conformance/case.js';
import { case8_1 } from './8.1-ipv6-sections-1-3.js';
import { case8_2 } from './8.2-dual-stack-ipv4-client.js';
import { case8_3 } from './8.3-link-local.js';

/** Catalogue section 8 IPv6 and dual stack. */
export const SECTION_8: CatalogueSection = {
  title: '8 IPv6 and dual stack',
  cases: [case8_1, case8_2, case8_3],
};
