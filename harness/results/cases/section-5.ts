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
  {
    id: '5.2',
    title: 'no unsolicited datagrams on an idle client socket',
    klass: 'MUST',
    requirement:
      'After its one request has been answered, an idle client socket receives nothing more (no keepalives, strays or late copies).',
    source: 'RFC 862',
    section,
  },
  {
    id: '5.3',
    title: 'reordering within a burst',
    klass: 'INFO',
    requirement:
      'Whether the replies to a burst of numbered datagrams on one socket come back in order, and how far not.',
    source: 'RFC 768 (UDP does not preserve order)',
    section,
  },
];
