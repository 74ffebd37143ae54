import type { CaseDefinition } from '../catalogue.js';

/** The section title. */
export const section = '7 Loop and abuse protection';

/** Catalogue section 7 Loop and abuse protection. */
export const SECTION_7: readonly CaseDefinition[] = [
  {
    id: '7.1',
    title: 'no reply to a datagram from source port 7',
    klass: 'SHOULD',
    capability: 'binding source port 7 needs root or CAP_NET_BIND_SERVICE',
    requirement:
      'A datagram from source port 7 (another echo service) is not answered: answering it starts an echo<->echo loop.',
    source: 'CERT CA-1996-01, CVE-1999-0103',
    section,
  },
  {
    id: '7.2',
    title: 'no reply from source ports 19, 9, 13 and 37',
    klass: 'SHOULD',
    capability: 'binding source ports below 1024 needs root or CAP_NET_BIND_SERVICE',
    requirement:
      'Datagrams from chargen (19), discard (9), daytime (13) and time (37) are not answered: each answer feeds a loop or a reflection.',
    source: 'CERT CA-1996-01, CVE-1999-0103, CVE-2024-2169',
    section,
  },
  {
    id: '7.3',
    title: 'which policy the server follows for other source ports below 1024',
    klass: 'INFO',
    capability: 'binding source ports below 1024 needs root or CAP_NET_BIND_SERVICE',
    requirement:
      'Reports which privileged source ports are refused: none, NetBSD-like (only 7, 9, 13, 19, 37), OpenBSD-like (every port below 1024 and 2049), or another list.',
    source: 'NetBSD inetd (bad_ports), OpenBSD inetd (dg_badinput), FreeBSD inetd (check_loop)',
    section,
  },
  {
    id: '7.4',
    title: 'no reply to a datagram from source port 0',
    klass: 'SHOULD',
    capability: 'sending from source port 0 needs a raw socket (CAP_NET_RAW) and python3',
    requirement: 'A datagram from source port 0 ("no reply expected", RFC 768) is not answered.',
    source: 'RFC 768, CVE-2024-2169',
    section,
  },
  {
    id: '7.5',
    title: 'never more replies or bytes out than requests and bytes in',
    klass: 'MUST',
    requirement:
      'Over a dedicated burst of datagrams of varied sizes (0 to the largest sendable) from one client: replies <= requests and reply bytes <= request bytes (no amplification). The harness does not yet count every exchange of the run, so this is the burst, not the whole run.',
    source: 'RFC 862, CVE-2024-2169',
    section,
  },
  {
    id: '7.6',
    title: 'whether and where the server throttles a flood',
    klass: 'INFO',
    requirement:
      'Reports the reply ratio over time during a bounded, paced flood of small datagrams (losses anywhere on the path count).',
    source: 'CVE-2024-2169 (reflection), RFC 862',
    section,
  },
];
