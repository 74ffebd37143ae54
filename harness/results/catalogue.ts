import type { CaseClass } from './verdict.js';

/** One case of the conformance catalogue: stable ID, class, requirement and its source. */
export interface CaseDefinition {
  /** Stable ID, `section.case` (used by --only, expectations files, JUnit). */
  readonly id: string;
  /** Short title, used as the mocha test title after the ID. */
  readonly title: string;
  readonly klass: CaseClass;
  /** Set when the case needs a capability (privilege, IPv6, a platform feature) and may be UNSUPPORTED. */
  readonly capability?: string;
  /** The requirement in one sentence. */
  readonly requirement: string;
  /** The RFC or advisory it comes from. */
  readonly source: string;
  /** The catalogue section title (and the spec file that implements it). */
  readonly section: string;
}

const S1 = '1 Basic echo';
const S2 = '2 Payload transparency';
const S3 = '3 Sizes';
const S4 = '4 Addressing';
const S5 = '5 Reply cardinality';

/** Every implemented case, in catalogue order. */
export const CATALOGUE: readonly CaseDefinition[] = Object.freeze([
  {
    id: '1.1',
    title: 'a small datagram comes back exactly once',
    klass: 'MUST',
    requirement: 'A small datagram comes back exactly once, with the same bytes and the same length.',
    source: 'RFC 862',
    section: S1,
  },
  {
    id: '1.2',
    title: 'a zero-length datagram comes back as a zero-length datagram',
    klass: 'MUST',
    requirement: 'A zero-length datagram is echoed as a zero-length datagram.',
    source: 'RFC 862, RFC 768 (a zero-length payload is legal)',
    section: S1,
  },
  {
    id: '1.3',
    title: 'the reply arrives on the OS-assigned ephemeral client port',
    klass: 'MUST',
    requirement:
      'The client sends from an OS-assigned ephemeral port (inside the OS ephemeral range) and the reply arrives on that port.',
    source: 'RFC 862',
    section: S1,
  },
  {
    id: '1.4',
    title: "the reply's source port is the port the request was sent to",
    klass: 'MUST',
    requirement:
      'The server swaps source and destination: the reply leaves from the port the client sent to.',
    source: 'RFC 862, RFC 768',
    section: S1,
  },
  {
    id: '2.1',
    title: 'all 256 byte values come back unchanged',
    klass: 'MUST',
    requirement: 'A datagram holding every byte value 0x00-0xff comes back byte for byte.',
    source: 'RFC 862',
    section: S2,
  },
  {
    id: '2.2',
    title: 'NUL bytes at the start, middle and end come back unchanged',
    klass: 'MUST',
    requirement: 'NUL bytes do not end the datagram (no C-string handling).',
    source: 'RFC 862',
    section: S2,
  },
  {
    id: '2.5',
    title: 'property: every payload up to the platform maximum comes back unchanged',
    klass: 'MUST',
    requirement:
      'For every payload p of any length up to the platform maximum, echo(p) == p (fast-check; sizes biased to the boundaries of section 3).',
    source: 'RFC 862',
    section: S2,
  },
  {
    id: '3.1',
    title: 'the size ladder from 1 to 32768 bytes comes back unchanged',
    klass: 'MUST',
    requirement:
      'Every size of the boundary ladder (1 .. 32768, around 256, 512, 1024, MTUs, 2^n, jumbo frames) is echoed in full.',
    source: 'RFC 862, RFC 768',
    section: S3,
  },
  {
    id: '3.2',
    title: '65507 bytes over IPv4 come back unchanged',
    klass: 'MUST',
    capability: 'an IPv4 target and a client that can send 65507-byte datagrams',
    requirement: 'The largest IPv4 UDP payload, 65507 bytes (65535 - 20 - 8), is echoed in full.',
    source: 'RFC 768, RFC 791',
    section: S3,
  },
  {
    id: '4.1',
    title: "the reply's source address is the address the request was sent to",
    klass: 'SHOULD',
    requirement: "For an unconnected client, the reply's source IP equals the IP the request was sent to.",
    source: 'RFC 1122 §4.1.3.5, RFC 2181 §4.1',
    section: S4,
  },
  {
    id: '4.3',
    title: 'requests to 127/8 aliases are answered from those aliases',
    klass: 'SHOULD',
    capability: 'Linux, and a target on this host listening on a wildcard or 127/8 address',
    requirement:
      'Requests sent to 127.0.0.2 and 127.1.2.3 are answered from 127.0.0.2 and 127.1.2.3 (a wildcard-bound server that answers from 127.0.0.1 has the multi-homed-host bug).',
    source: 'RFC 1122 §4.1.3.5, RFC 2181 §4.1',
    section: S4,
  },
  {
    id: '4.5',
    title: '200 clients on distinct ephemeral ports each get their own reply',
    klass: 'MUST',
    requirement:
      'Many clients at once (200 sockets on distinct ephemeral ports) each receive exactly their own data.',
    source: 'RFC 862',
    section: S4,
  },
  {
    id: '5.1',
    title: 'exactly one reply per request',
    klass: 'MUST',
    requirement:
      'Each request gets exactly one reply: nothing more arrives within a grace window after the first.',
    source: 'RFC 862',
    section: S5,
  },
] satisfies CaseDefinition[]);

const BY_ID = new Map(CATALOGUE.map((c) => [c.id, c]));

/** The case with this ID; throws for an unknown ID (a programming error in a spec file). */
export function caseById(id: string): CaseDefinition {
  const found = BY_ID.get(id);
  if (!found) throw new Error(`unknown case ID ${id}`);
  return found;
}
