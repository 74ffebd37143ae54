import type { CaseDefinition } from '../catalogue.js';

/** The section title. */
export const section = '10 Robustness and liveness';

/** Catalogue section 10 Robustness and liveness. */
export const SECTION_10: readonly CaseDefinition[] = [
  {
    id: '10.1',
    title: 'a port-unreachable storm from 1000 vanished clients does not stop the server',
    klass: 'MUST',
    requirement:
      '1000 clients close their sockets before their replies arrive (each reply draws an ICMP port unreachable back at the server); a normal echo afterwards still succeeds.',
    source: 'RFC 1122 4.1.3.3 (ICMP errors reach the application), RFC 862',
    section,
  },
  {
    id: '10.2',
    title: 'a single echo succeeds after a flood',
    klass: 'MUST',
    requirement: 'After a flood of small datagrams, a single echo succeeds within the timeout.',
    source: 'RFC 862',
    section,
  },
  {
    id: '10.3',
    title: 'a single echo succeeds after zero-length and maximum-size floods',
    klass: 'MUST',
    requirement:
      'After a flood of zero-length datagrams, and after a flood of maximum-size datagrams, a single echo succeeds within the timeout.',
    source: 'RFC 862, RFC 768 (zero-length and 65507-byte payloads are legal)',
    section,
  },
  {
    id: '10.4',
    title: 'RSS and descriptor count of a local server before and after a soak',
    klass: 'INFO',
    capability: 'needs Linux /proc and a target owned by a process on this host',
    requirement:
      "Reports the owning process's resident memory and open descriptors before and after a soak of datagrams from one socket and many short-lived clients.",
    source: 'RFC 862 (a long-running service)',
    section,
  },
];
