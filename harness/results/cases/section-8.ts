import type { CaseDefinition } from '../catalogue.js';

/** The section title. */
export const section = '8 IPv6 and dual stack';

/** Catalogue section 8 IPv6 and dual stack. */
export const SECTION_8: readonly CaseDefinition[] = [];
