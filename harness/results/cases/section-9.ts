import type { CaseDefinition } from '../catalogue.js';

/** The section title. */
export const section = '9 Fragmentation';

/** Catalogue section 9 Fragmentation. */
export const SECTION_9: readonly CaseDefinition[] = [
  {
    id: '9.1',
    title: 'datagrams just above the path MTU come back byte-exact (loss by size)',
    klass: 'INFO',
    requirement:
      'Sizes just above the path MTU (1473, 2961 and 8193 bytes over an MTU of 1500) and larger ones are reassembled and echoed byte-exact; loss is reported by size.',
    source: 'RFC 791 §2.3, RFC 8200 §4.5, RFC 8085 §3.2',
    section,
  },
];
