import type { CatalogueSection } from '../../../harness/conformance/case.js';
import { case4_1 } from './4.1-reply-source-address.js';
import { case4_2 } from './4.2-connected-client.js';
import { case4_3 } from './4.3-loopback-aliases.js';
import { case4_4 } from './4.4-target-addrs.js';
import { case4_5 } from './4.5-many-clients.js';
import { case4_6 } from './4.6-one-reply-port.js';

/** Catalogue section 4 Addressing. */
export const SECTION_4: CatalogueSection = {
  title: '4 Addressing',
  cases: [case4_1, case4_2, case4_3, case4_4, case4_5, case4_6],
};
