/**
 * Escaping of bytes and text that a target controls, before they reach a terminal, a CI log or a
 * report (docs/reports.md). A reply such as `ESC ] 0 ; title BEL` rewrites a terminal's title, and a
 * reply that starts a line with `::error` forges a GitHub Actions command; neither may reach an
 * output as it arrived.
 */

const hex = (n: number): string => `\\x${n.toString(16).padStart(2, '0')}`;

/**
 * Bytes a target sent, as text that is safe anywhere: printable ASCII (0x20-0x7e) as it is, the
 * backslash as `\\`, every other byte as `\xNN` (lower-case hex). The form is unambiguous: the bytes
 * can be read back from it. At most the first `maxBytes` bytes are shown.
 */
export function escapeBytes(data: Uint8Array, maxBytes = Infinity): string {
  const end = Math.min(data.length, maxBytes);
  let out = '';
  for (let i = 0; i < end; i++) {
    const b = data[i] ?? 0;
    out += b === 0x5c ? '\\\\' : b >= 0x20 && b <= 0x7e ? String.fromCharCode(b) : hex(b);
  }
  return out;
}

/** C0 controls (tab, CR and LF included), DEL and the C1 controls. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
/** The same without tab, LF and CR. */
// eslint-disable-next-line no-control-regex
const CONTROL_BUT_LINE_BREAKS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g;

/**
 * Text without control characters: each of them (C0, DEL and C1; tab, CR and LF too, unless
 * `keepLineBreaks`) becomes `\xNN`; everything else, backslashes and non-ASCII text included, stays
 * as it is. The renderers apply it to every message, so that no message, escaped at its source or
 * not, can move a terminal's cursor or start a new line in a CI log. `keepLineBreaks` is for
 * documents whose own syntax quotes line breaks (XML, HTML).
 */
export function escapeControls(text: string, options: { readonly keepLineBreaks?: boolean } = {}): string {
  return text.replace(options.keepLineBreaks ? CONTROL_BUT_LINE_BREAKS : CONTROL, (c) =>
    hex(c.charCodeAt(0)),
  );
}
