import { echoVariants } from './support.js';
import type { ConformanceCase } from '../../../harness/conformance/case.js';

/** 2.2: NUL bytes at the start, middle and end come back unchanged. */
export const case2_2: ConformanceCase = {
  id: '2.2',
  title: 'NUL bytes at the start, middle and end come back unchanged',
  klass: 'MUST',
  requirement: 'NUL bytes do not end the datagram (no C-string handling).',
  source: 'RFC 862',
  provenBy: ['nul-terminated', 'pad-to-64'],
  run: async (ctx) => {
    const variants: [string, Buffer][] = [
      ['start', Buffer.from('00656368 6f6c6f74 2032 2e32'.replace(/ /g, ''), 'hex')],
      ['middle', Buffer.from('6563686f 00 6c6f74 2032 2e32'.replace(/ /g, ''), 'hex')],
      ['end', Buffer.from('6563686f 6c6f74 2032 2e32 00'.replace(/ /g, ''), 'hex')],
    ];
    return echoVariants(
      ctx,
      variants,
      (where) => `NUL at the ${where}`,
      'NUL at the start, middle and end came back unchanged',
    );
  },
};
