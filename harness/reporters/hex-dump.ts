/**
 * Hex dumps of the payload comparisons in a case's evidence (`PayloadComparison` in
 * harness/results/evidence.ts: `sentHex` and `receivedHex`, `@offset: aa bb ...`), for the HTML
 * report and the console. Pure. Rows of 16 bytes with their offset, sent above received, every
 * byte that differs marked, and an ASCII column in which only printable ASCII (0x20-0x7e) shows as
 * it is and every other byte as `.`: what a target sent never reaches an output raw.
 */

/** Bytes per row of a dump. */
export const ROW_BYTES = 16;

/** Comparisons shown per case. */
const MAX_COMPARISONS = 8;

/** A comparison found somewhere in a case's evidence. */
export interface HexComparison {
  /** Where in the evidence it is, e.g. `exchange.comparison`. */
  readonly path: string;
  readonly summary: string;
  readonly sentHex: string;
  readonly receivedHex: string;
}

/** Walks the evidence for PayloadComparison-shaped objects that carry hex (bounded depth and count). */
export function hexComparisons(evidence: unknown, max = MAX_COMPARISONS): HexComparison[] {
  const found: HexComparison[] = [];
  const walk = (v: unknown, path: string, depth: number): void => {
    if (found.length >= max || depth > 8 || v === null || typeof v !== 'object') return;
    const o = v as Record<string, unknown>;
    if (typeof o['sentHex'] === 'string' || typeof o['receivedHex'] === 'string') {
      found.push({
        path: path || 'evidence',
        summary: typeof o['summary'] === 'string' ? o['summary'] : '',
        sentHex: typeof o['sentHex'] === 'string' ? o['sentHex'] : '',
        receivedHex: typeof o['receivedHex'] === 'string' ? o['receivedHex'] : '',
      });
      return;
    }
    for (const [k, child] of Object.entries(o)) {
      walk(child, Array.isArray(o) ? `${path}[${k}]` : path ? `${path}.${k}` : k, depth + 1);
    }
  };
  walk(evidence, '', 0);
  return found;
}

/** A window of bytes: where it starts and whether more follow it. */
export interface HexWindow {
  readonly start: number;
  readonly bytes: readonly number[];
  /** The payload goes on after the window (`...`). */
  readonly more: boolean;
}

/** `@16: aa bb cc ...` as a window; anything that is not a hex byte is left out. */
export function parseHexWindow(hex: string): HexWindow {
  const m = /^@(\d+):\s*(.*)$/s.exec(hex.trim());
  const tokens = (m?.[2] ?? hex).split(/\s+/).filter(Boolean);
  return {
    start: m?.[1] === undefined ? 0 : Number(m[1]),
    bytes: tokens.filter((t) => /^[0-9a-f]{2}$/i.test(t)).map((t) => parseInt(t, 16)),
    more: tokens.includes('...'),
  };
}

/** One byte of a row: its value (absent past the end of the window) and whether the other side differs. */
export interface DumpByte {
  readonly value?: number;
  readonly differs: boolean;
}

/** One row of a dump: its offset and 16 bytes of each side. */
export interface DumpRow {
  readonly offset: number;
  readonly sent: readonly DumpByte[];
  readonly received: readonly DumpByte[];
}

/** Sent and received windows side by side, in rows of 16 bytes aligned on their offsets. */
export function dumpRows(sent: HexWindow, received: HexWindow): DumpRow[] {
  const at = (w: HexWindow, i: number): number | undefined =>
    i >= w.start && i < w.start + w.bytes.length ? w.bytes[i - w.start] : undefined;
  const have = [sent, received].filter((w) => w.bytes.length > 0);
  if (have.length === 0) return [];
  const first = Math.min(...have.map((w) => w.start));
  const end = Math.max(...have.map((w) => w.start + w.bytes.length));
  const rows: DumpRow[] = [];
  for (let offset = first; offset < end; offset += ROW_BYTES) {
    const sentRow: DumpByte[] = [];
    const receivedRow: DumpByte[] = [];
    for (let i = offset; i < Math.min(end, offset + ROW_BYTES); i++) {
      const s = at(sent, i);
      const r = at(received, i);
      const differs = s !== r;
      sentRow.push(s === undefined ? { differs } : { value: s, differs });
      receivedRow.push(r === undefined ? { differs } : { value: r, differs });
    }
    rows.push({ offset, sent: sentRow, received: receivedRow });
  }
  return rows;
}

/** A byte in the ASCII column: printable ASCII as it is, every other byte as `.`. */
export const asciiOf = (b: number): string => (b >= 0x20 && b <= 0x7e ? String.fromCharCode(b) : '.');

/** An offset label: decimal and hex, e.g. `16 0x0010`. */
export const offsetLabel = (offset: number): string => `${offset} 0x${offset.toString(16).padStart(4, '0')}`;

/** How a dump marks text: the HTML report wraps differing bytes in <mark> and escapes markup. */
export interface DumpMarkup {
  /** Text as it goes into the output (HTML escapes `<`, `&` ...). */
  readonly text: (s: string) => string;
  /** A byte (hex or ASCII) that differs from the other side. */
  readonly mark: (s: string) => string;
}

/** Plain text: differing bytes are not marked (the console; the summary line says where they differ). */
export const PLAIN: DumpMarkup = { text: (s) => s, mark: (s) => s };

/**
 * The dump as lines: a header naming the columns, then per row `sent` and `received` with the
 * offset, 16 hex bytes and the ASCII column. Blank where a side has no byte (truncated, shorter
 * window); a side whose payload goes on past the window ends with `...`.
 */
export function renderDumpLines(c: HexComparison, markup: DumpMarkup = PLAIN): string[] {
  const sent = parseHexWindow(c.sentHex);
  const received = parseHexWindow(c.receivedHex);
  const rows = dumpRows(sent, received);
  if (rows.length === 0) return [];
  const labelWidth = Math.max('offset'.length, ...rows.map((r) => offsetLabel(r.offset).length));
  const side = (bytes: readonly DumpByte[]): { hex: string; ascii: string } => {
    const hex: string[] = [];
    let ascii = '';
    for (let i = 0; i < ROW_BYTES; i++) {
      const b = bytes[i];
      if (b?.value === undefined) {
        hex.push('  ');
        ascii += ' ';
        continue;
      }
      const h = b.value.toString(16).padStart(2, '0');
      const a = asciiOf(b.value);
      hex.push(b.differs ? markup.mark(markup.text(h)) : markup.text(h));
      ascii += b.differs ? markup.mark(markup.text(a)) : markup.text(a);
    }
    return { hex: hex.join(' '), ascii };
  };
  const columns = Array.from({ length: ROW_BYTES }, (_, i) => `+${i.toString(16)}`.padStart(2)).join(' ');
  const lines = [`${'offset'.padEnd(labelWidth)}  ${''.padEnd(8)}  ${columns}  ascii`];
  const last = rows.length - 1;
  rows.forEach((r, i) => {
    const s = side(r.sent);
    const v = side(r.received);
    const tail = (w: HexWindow): string => (i === last && w.more ? ' ...' : '');
    lines.push(
      `${offsetLabel(r.offset).padEnd(labelWidth)}  ${'sent'.padEnd(8)}  ${s.hex}  |${s.ascii}|${tail(sent)}`,
      `${''.padEnd(labelWidth)}  ${'received'.padEnd(8)}  ${v.hex}  |${v.ascii}|${tail(received)}`,
    );
  });
  return lines;
}
