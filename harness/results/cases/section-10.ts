import type { CaseDefinition } from '../catalogue.js';

/** The section title. */
export const section = '10 Robustness and liveness';

/** Catalogue section 10 Robustness and liveness. */
export const SECTION_10: readonly CaseDefinition[] = [];
