import { echoVariants, hex, text } from './support.js';
import type { ConformanceCase } from '../../../harness/conformance/case.js';

/** Invalid UTF-8 between printable text, so a decoder that resynchronises still has to get every byte right. */
const INVALID_UTF8: readonly (readonly [string, Buffer])[] = [
  ['ff fe (bytes never valid in UTF-8)', Buffer.concat([text('echolot 2.3 '), hex('ff fe'), text(' end')])],
  ['lone continuation bytes 80 bf', Buffer.concat([text('echolot 2.3 '), hex('80 bf 80'), text(' end')])],
  ['overlong "/" c0 af', Buffer.concat([text('echolot 2.3 '), hex('c0 af'), text(' end')])],
  ['overlong "/" e0 80 af', Buffer.concat([text('echolot 2.3 '), hex('e0 80 af'), text(' end')])],
  ['overlong "/" f0 80 80 af', Buffer.concat([text('echolot 2.3 '), hex('f0 80 80 af'), text(' end')])],
  ['surrogate U+D800 ed a0 80', Buffer.concat([text('echolot 2.3 '), hex('ed a0 80'), text(' end')])],
  [
    'surrogate pair ed a0 bd ed b8 80 (CESU-8)',
    Buffer.concat([text('echolot 2.3 '), hex('eda0bd edb880'), text(' end')]),
  ],
  ['above U+10FFFF f4 90 80 80', Buffer.concat([text('echolot 2.3 '), hex('f4 90 80 80'), text(' end')])],
  ['truncated sequence e2 82 at the end', Buffer.concat([text('echolot 2.3 '), hex('e2 82')])],
  ['only invalid bytes', hex('ff fe fd c0 80 bf')],
];

/** 2.3: invalid UTF-8 comes back unchanged. */
export const case2_3: ConformanceCase = {
  id: '2.3',
  title: 'invalid UTF-8 comes back unchanged',
  klass: 'MUST',
  requirement:
    'Byte sequences that are not valid UTF-8 (0xff 0xfe, lone continuation bytes, overlong forms, surrogates) come back byte for byte (no string re-encoding).',
  source: 'RFC 862',
  provenBy: ['utf8-reencode', 'pad-to-64'],
  run: (ctx) =>
    echoVariants(
      ctx,
      INVALID_UTF8,
      (name) => `invalid UTF-8, ${name}`,
      `${INVALID_UTF8.length} datagrams of invalid UTF-8 (ff fe, lone continuation bytes, overlong forms, surrogates) came back unchanged`,
    ),
};
