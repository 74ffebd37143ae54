import type { CaseDefinition } from '../catalogue.js';

/** The section title. */
export const section = '9 Fragmentation';

/** Catalogue section 9 Fragmentation. */
export const SECTION_9: readonly CaseDefinition[] = [];
