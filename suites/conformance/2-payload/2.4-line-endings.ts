import { echoVariants, text } from './support.js';
import type { ConformanceCase } from '../../../harness/conformance/case.js';

/** Line endings and whitespace that line-oriented servers rewrite. */
const LINE_ENDINGS: readonly (readonly [string, Buffer])[] = [
  ['CR at the end', text('echolot 2.4 CR\r')],
  ['LF at the end', text('echolot 2.4 LF\n')],
  ['CRLF line endings', text('echolot\r\n2.4 CRLF\r\n')],
  ['LF CR', text('echolot\n\r2.4 LF CR')],
  ['bare CR inside', text('echolot\r2.4 bare CR')],
  ['trailing spaces', text('echolot 2.4 trailing spaces   ')],
  ['trailing tab and spaces', text('echolot 2.4 trailing tab\t \t ')],
  ['leading spaces', text('   echolot 2.4 leading spaces')],
  ['no trailing newline', text('echolot 2.4 no trailing newline')],
  ['blank lines only', text('\n\n\r\n\r\n')],
  ['a lone CRLF', text('\r\n')],
];

/** 2.4: CR, LF, CRLF and trailing spaces come back unchanged. */
export const case2_4: ConformanceCase = {
  id: '2.4',
  title: 'CR, LF, CRLF and trailing spaces come back unchanged',
  klass: 'MUST',
  requirement:
    'CR, LF, CRLF, trailing spaces and a missing final newline come back as sent: nothing is normalised, trimmed or appended.',
  source: 'RFC 862',
  provenBy: ['crlf-to-lf', 'pad-to-64'],
  run: (ctx) =>
    echoVariants(
      ctx,
      LINE_ENDINGS,
      (name) => `${name}`,
      `${LINE_ENDINGS.length} datagrams with CR, LF, CRLF, trailing and leading spaces and no final newline came back unchanged`,
    ),
};
