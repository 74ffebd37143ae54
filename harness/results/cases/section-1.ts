import type { CaseDefinition } from '../catalogue.js';

/** The section title. */
export const section = '1 Basic echo';

/** Catalogue section 1 Basic echo. */
export const SECTION_1: readonly CaseDefinition[] = [
  {
    id: '1.1',
    title: 'a small datagram comes back exactly once',
    klass: 'MUST',
    requirement: 'A small datagram comes back exactly once, with the same bytes and the same length.',
    source: 'RFC 862',
    section,
  },
  {
    id: '1.2',
    title: 'a zero-length datagram comes back as a zero-length datagram',
    klass: 'MUST',
    requirement: 'A zero-length datagram is echoed as a zero-length datagram.',
    source: 'RFC 862, RFC 768 (a zero-length payload is legal)',
    section,
  },
  {
    id: '1.3',
    title: 'the reply arrives on the OS-assigned ephemeral client port',
    klass: 'MUST',
    requirement:
      'The client sends from an OS-assigned ephemeral port (inside the OS ephemeral range) and the reply arrives on that port.',
    source: 'RFC 862',
    section,
  },
  {
    id: '1.4',
    title: "the reply's source port is the port the request was sent to",
    klass: 'MUST',
    requirement:
      'The server swaps source and destination: the reply leaves from the port the client sent to.',
    source: 'RFC 862, RFC 768',
    section,
  },
];
