import type { CaseDefinition } from '../catalogue.js';

/** The section title. */
export const section = '2 Payload transparency';

/** Catalogue section 2 Payload transparency. */
export const SECTION_2: readonly CaseDefinition[] = [
  {
    id: '2.1',
    title: 'all 256 byte values come back unchanged',
    klass: 'MUST',
    requirement: 'A datagram holding every byte value 0x00-0xff comes back byte for byte.',
    source: 'RFC 862',
    section,
  },
  {
    id: '2.2',
    title: 'NUL bytes at the start, middle and end come back unchanged',
    klass: 'MUST',
    requirement: 'NUL bytes do not end the datagram (no C-string handling).',
    source: 'RFC 862',
    section,
  },
  {
    id: '2.5',
    title: 'property: every payload up to the platform maximum comes back unchanged',
    klass: 'MUST',
    requirement:
      'For every payload p of any length up to the platform maximum, echo(p) == p (fast-check; sizes biased to the boundaries of section 3).',
    source: 'RFC 862',
    section,
  },
];
