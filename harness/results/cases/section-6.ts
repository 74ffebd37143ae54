import type { CaseDefinition } from '../catalogue.js';

/** The section title. */
export const section = '6 Concurrency and isolation';

/** Catalogue section 6 Concurrency and isolation. */
export const SECTION_6: readonly CaseDefinition[] = [
  {
    id: '6.1',
    title: '32 concurrent clients each receive only their own replies',
    klass: 'MUST',
    requirement:
      'Concurrent clients with unique nonces, each sending several requests, receive only their own replies.',
    source: 'RFC 862, RFC 768',
    section,
  },
  {
    id: '6.2',
    title: 'identical payloads from different clients each go back to their own sender',
    klass: 'MUST',
    requirement:
      'When several clients send the same bytes at once, every client receives exactly one copy (no coalescing by content).',
    source: 'RFC 862',
    section,
  },
  {
    id: '6.3',
    title: 'interleaved bursts on one socket map 1:1 to replies',
    klass: 'MUST',
    requirement:
      'Bursts of requests on one socket, sent while earlier replies are still arriving, get exactly one reply each (none lost for good, duplicated or replaced).',
    source: 'RFC 862',
    section,
  },
];
