import type { CaseDefinition } from '../catalogue.js';

/** The section title. */
export const section = '7 Loop and abuse protection';

/** Catalogue section 7 Loop and abuse protection. */
export const SECTION_7: readonly CaseDefinition[] = [];
