import type { CaseDefinition } from '../catalogue.js';

/** The section title. */
export const section = '3 Sizes';

/** Catalogue section 3 Sizes. */
export const SECTION_3: readonly CaseDefinition[] = [
  {
    id: '3.1',
    title: 'the size ladder from 1 to 32768 bytes comes back unchanged',
    klass: 'MUST',
    requirement:
      'Every size of the boundary ladder (1 .. 32768, around 256, 512, 1024, MTUs, 2^n, jumbo frames) is echoed in full.',
    source: 'RFC 862, RFC 768',
    section,
  },
  {
    id: '3.2',
    title: '65507 bytes over IPv4 come back unchanged',
    klass: 'MUST',
    capability: 'an IPv4 target and a client that can send 65507-byte datagrams',
    requirement: 'The largest IPv4 UDP payload, 65507 bytes (65535 - 20 - 8), is echoed in full.',
    source: 'RFC 768, RFC 791',
    section,
  },
  {
    id: '3.3',
    title: '65527 bytes over IPv6 come back unchanged',
    klass: 'MUST',
    capability:
      'an IPv6 address of the server (the target, ::1 for a local target, or a host name with AAAA) and a client that can send 65527-byte datagrams',
    requirement:
      'The largest IPv6 UDP payload without jumbograms, 65527 bytes (65535 - 8), is echoed in full.',
    source: 'RFC 768, RFC 8200',
    section,
  },
  {
    id: '3.4',
    title: 'the largest size echoed, by binary search',
    klass: 'INFO',
    requirement:
      "The largest payload the server echoes byte for byte, found by binary search between 0 and the family's maximum.",
    source: 'RFC 862, RFC 768',
    section,
  },
];
