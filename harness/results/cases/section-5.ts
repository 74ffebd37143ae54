import type { CaseDefinition } from '../catalogue.js';

/** The section title. */
export const section = '5 Reply cardinality';

/** Catalogue section 5 Reply cardinality. */
export const SECTION_5: readonly CaseDefinition[] = [
  {
    id: '5.1',
    title: 'exactly one reply per request',
    klass: 'MUST',
    requirement:
      'Each request gets exactly one reply: nothing more arrives within a grace window after the first.',
    source: 'RFC 862',
    section,
  },
];
