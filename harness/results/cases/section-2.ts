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
    id: '2.3',
    title: 'invalid UTF-8 comes back unchanged',
    klass: 'MUST',
    requirement:
      'Byte sequences that are not valid UTF-8 (0xff 0xfe, lone continuation bytes, overlong forms, surrogates) come back byte for byte (no string re-encoding).',
    source: 'RFC 862',
    section,
  },
  {
    id: '2.4',
    title: 'CR, LF, CRLF and trailing spaces come back unchanged',
    klass: 'MUST',
    requirement:
      'CR, LF, CRLF, trailing spaces and a missing final newline come back as sent: nothing is normalised, trimmed or appended.',
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
  {
    id: '2.6',
    title: 'property: at most one reply, never longer than the request',
    klass: 'MUST',
    requirement:
      'For every payload, at most one reply arrives and it is never longer than the request (amplification <= 1; fast-check).',
    source: 'RFC 862, CVE-1999-0103 (reflection amplification)',
    section,
  },
];
