import type { CaseDefinition } from '../catalogue.js';

/** The section title. */
export const section = '6 Concurrency and isolation';

/** Catalogue section 6 Concurrency and isolation. */
export const SECTION_6: readonly CaseDefinition[] = [];
