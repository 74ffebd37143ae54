import type { CaseDefinition } from '../catalogue.js';

/** The section title. */
export const section = '8 IPv6 and dual stack';

/** Catalogue section 8 IPv6 and dual stack. */
export const SECTION_8: readonly CaseDefinition[] = [
  {
    id: '8.1',
    title: 'over IPv6 the server passes the checks of sections 1-3',
    klass: 'MUST',
    capability:
      'an IPv6 address of the target: an IPv6 target, ::1 for the embedded default and for 127/8 targets, a host name with an AAAA record',
    requirement:
      'Over IPv6 a small datagram comes back once from the echo port, a zero-length one as zero-length, all 256 byte values and NULs unchanged, every size of the ladder and 65527 bytes in full.',
    source: 'RFC 862, RFC 768, RFC 8200',
    section,
  },
  {
    id: '8.2',
    title: 'an IPv4 client of a dual-stack server is answered from the IPv4 address it used',
    klass: 'SHOULD',
    capability: 'an IPv4 target on this host that also answers over IPv6 (a dual-stack server)',
    requirement:
      'Requests over IPv4 to a dual-stack server (one listening on :: or on both families) are answered over IPv4 from the address they were sent to (127/8 aliases too), never from another address.',
    source: 'RFC 4291 §2.5.5.2, RFC 3493 §3.7, RFC 1122 §4.1.3.5',
    section,
  },
  {
    id: '8.3',
    title: 'a link-local request is answered from the same address and scope',
    klass: 'INFO',
    capability:
      'a link-local IPv6 target with a scope id, or (embedded default) a test host in a network namespace',
    requirement:
      'A request to a link-local IPv6 address on one interface is answered from that address on that interface (same scope id).',
    source: 'RFC 4007 §6, RFC 1122 §4.1.3.5',
    section,
  },
];
