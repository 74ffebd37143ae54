import type { CaseDefinition } from '../catalogue.js';

/** The section title. */
export const section = '4 Addressing';

/** Catalogue section 4 Addressing. */
export const SECTION_4: readonly CaseDefinition[] = [
  {
    id: '4.1',
    title: "the reply's source address is the address the request was sent to",
    klass: 'SHOULD',
    requirement: "For an unconnected client, the reply's source IP equals the IP the request was sent to.",
    source: 'RFC 1122 §4.1.3.5, RFC 2181 §4.1',
    section,
  },
  {
    id: '4.2',
    title: 'a connected client receives the reply',
    klass: 'SHOULD',
    requirement:
      'A client whose socket is connected to the target (so the kernel drops datagrams from any other address or port) receives the reply.',
    source: 'RFC 1122 §4.1.3.5, RFC 2181 §4.1',
    section,
  },
  {
    id: '4.3',
    title: 'requests to 127/8 aliases are answered from those aliases',
    klass: 'SHOULD',
    capability: 'Linux, and a target on this host listening on a wildcard or 127/8 address',
    requirement:
      'Requests sent to 127.0.0.2 and 127.1.2.3 are answered from 127.0.0.2 and 127.1.2.3 (a wildcard-bound server that answers from 127.0.0.1 has the multi-homed-host bug).',
    source: 'RFC 1122 §4.1.3.5, RFC 2181 §4.1',
    section,
  },
  {
    id: '4.4',
    title: 'every address given with --target-addrs answers from that address',
    klass: 'SHOULD',
    capability: '--target-addrs (for the embedded default: the addresses it binds)',
    requirement:
      'A request sent to each further address of the server (secondary IPs, other interfaces) is answered from that same address.',
    source: 'RFC 1122 §4.1.3.5, RFC 2181 §4.1',
    section,
  },
  {
    id: '4.5',
    title: '200 clients on distinct ephemeral ports each get their own reply',
    klass: 'MUST',
    requirement:
      'Many clients at once (200 sockets on distinct ephemeral ports) each receive exactly their own data.',
    source: 'RFC 862',
    section,
  },
  {
    id: '4.6',
    title: 'every reply leaves from the echo port (no per-request or per-client sockets)',
    klass: 'MUST',
    requirement:
      'Several requests from several client sockets (each sending more than once) are all answered from the one port the requests were sent to.',
    source: 'RFC 862, RFC 768',
    section,
  },
];
