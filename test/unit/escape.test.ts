import { expect } from 'chai';
import { escapeBytes, escapeControls } from '../../harness/core/escape.js';
import { comparePayloads } from '../../harness/results/evidence.js';
import { renderAmendLine, renderCaseLine, renderSummary } from '../../harness/reporters/console.js';
import { renderCheckAnnotations } from '../../harness/reporters/github.js';
import { renderIndexHtml } from '../../harness/reporters/html-report.js';
import { renderJunit } from '../../harness/reporters/junit.js';
import { renderCheckMarkdown } from '../../harness/reporters/markdown.js';
import type { CaseResult } from '../../harness/results/case-result.js';
import { summarize, type RunInfo } from '../../harness/results/summary.js';
import { CATALOGUE } from '../../suites/conformance/catalogue.js';
import { sampleRun } from '../helpers/check-sample.js';

/** What a hostile echo server may send: a terminal title, a screen clear, a forged workflow command. */
const HOSTILE = '\u001b]0;pwned\u0007\u001b[2J\n::error title=X::forged\r\n\u009b31m\u007f';

/** Reads `\\` and `\xNN` back into bytes (the inverse of escapeBytes). */
const unescape = (s: string): Buffer => {
  const out: number[] = [];
  let i = 0;
  while (i < s.length) {
    if (s[i] !== '\\') {
      out.push(s.charCodeAt(i));
      i += 1;
    } else if (s[i + 1] === '\\') {
      out.push(0x5c);
      i += 2;
    } else {
      out.push(parseInt(s.slice(i + 2, i + 4), 16));
      i += 4;
    }
  }
  return Buffer.from(out);
};

// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;

describe('escaping what a target controls', () => {
  it('escapeBytes keeps printable ASCII, doubles the backslash and writes every other byte as \\xNN', () => {
    expect(escapeBytes(Buffer.from('echolot 1a2b-3 hello ~!'))).to.equal('echolot 1a2b-3 hello ~!');
    expect(escapeBytes(Buffer.from(HOSTILE, 'latin1'))).to.equal(
      '\\x1b]0;pwned\\x07\\x1b[2J\\x0a::error title=X::forged\\x0d\\x0a\\x9b31m\\x7f',
    );
    expect(escapeBytes(Buffer.from('a\\x1b'))).to.equal('a\\\\x1b');
    expect(escapeBytes(Buffer.from([0x00, 0x1f, 0x20, 0x7e, 0x7f, 0x80, 0xff]))).to.equal(
      '\\x00\\x1f ~\\x7f\\x80\\xff',
    );
    expect(escapeBytes(new Uint8Array(0))).to.equal('');
  });

  it('escapeBytes is unambiguous: every byte value reads back, and the output is printable ASCII', () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const text = escapeBytes(all);
    expect(text).to.match(/^[\x20-\x7e]*$/);
    expect(unescape(text).equals(all)).to.equal(true);
    // A payload that looks like an escape reads back as itself, not as the byte it names.
    const lookalike = Buffer.from('\\x1b and \\\\');
    expect(unescape(escapeBytes(lookalike)).equals(lookalike)).to.equal(true);
  });

  it('escapeBytes shows at most maxBytes bytes (of a view, from its own offset)', () => {
    expect(escapeBytes(Buffer.from('abcdef'), 3)).to.equal('abc');
    const whole = new Uint8Array(Buffer.from('xx\u001byz', 'latin1'));
    expect(escapeBytes(whole.subarray(2, 4))).to.equal('\\x1by');
  });

  it('escapeControls makes text one line without control characters, and keeps the rest as it is', () => {
    expect(escapeControls(HOSTILE)).to.equal(
      '\\x1b]0;pwned\\x07\\x1b[2J\\x0a::error title=X::forged\\x0d\\x0a\\x9b31m\\x7f',
    );
    expect(escapeControls('a\\b µs ≥ 1 😀\t')).to.equal('a\\b µs ≥ 1 😀\\x09');
    expect(escapeControls('line 1\nline\t2\r\n\u001b', { keepLineBreaks: true })).to.equal(
      'line 1\nline\t2\r\n\\x1b',
    );
  });
});

describe('the renderers with a message a target wrote', () => {
  const run: RunInfo = sampleRun();
  const def = CATALOGUE[0];
  if (!def) throw new Error('empty catalogue');
  // Unescaped on purpose: a renderer must hold even when a message was not escaped at its source.
  const hostile: CaseResult = {
    ...def,
    verdict: 'FAIL',
    message: `got '${HOSTILE}' | back`,
    evidence: { text: HOSTILE },
    attempts: 1,
    durationMs: 5,
    startedAt: run.startedAt,
  };
  const summary = summarize(run, [def], [hostile]);
  const style = { color: false };

  it('the console prints it on one line, every control character as \\xNN', () => {
    for (const out of [
      renderCaseLine(hostile, style),
      renderAmendLine(hostile, { ...hostile, verdict: 'PASS' }, style),
    ]) {
      expect(out.split('\n')).to.have.length(2);
      expect(out).to.not.match(RAW_CONTROL).and.not.include('\r');
      expect(out).to.include("got '\\x1b]0;pwned\\x07\\x1b[2J\\x0a::error title=X::forged\\x0d\\x0a");
    }
    const lines = renderSummary(summary, style).split('\n');
    expect(lines.join('\n')).to.not.match(RAW_CONTROL).and.not.include('\r');
    expect(lines.filter((l) => l.includes('pwned'))).to.have.length(1);
    expect(lines.filter((l) => l.startsWith('::'))).to.deep.equal([]);
  });

  it('the console shows a failed comparison as a hex dump whose ASCII column has dots for every other byte', () => {
    const bytes = Buffer.from(HOSTILE, 'latin1');
    const compared = {
      ...hostile,
      evidence: { exchange: { comparison: comparePayloads(bytes, bytes.subarray(0, 9)) } },
    };
    const lines = renderSummary(summarize(run, [def], [compared]), style).split('\n');
    expect(lines.join('\n')).to.not.match(RAW_CONTROL).and.not.include('\r');
    expect(lines).to.include('      exchange.comparison: truncated to 9 bytes (sent 45)');
    expect(lines.find((l) => l.startsWith('      0 0x0000   sent'))).to.match(
      /1b 5d 30 3b .* {2}\|\.\]0;pwned\.\.\[2J\.:\|$/,
    );
    expect(lines.filter((l) => l.trimStart().startsWith('::'))).to.deep.equal([]);
    // With colour the differing bytes are red; the only escape codes are the renderer's own colours.
    const coloured = renderSummary(summarize(run, [def], [compared]), { color: true });
    expect(coloured).to.include('\u001b[31m1b\u001b[0m');
    // eslint-disable-next-line no-control-regex
    expect(coloured.replace(/\u001b\[\d+m/g, '')).to.not.match(RAW_CONTROL);
  });

  it('an annotation cannot end early or start a command of its own', () => {
    const out = renderCheckAnnotations(summary);
    const lines = out.trimEnd().split('\n');
    expect(lines).to.have.length(1);
    expect(lines[0]).to.match(/^::error title=echolot 1\.1 FAIL%3A /);
    expect(out).to.not.match(RAW_CONTROL).and.not.include('\r');
    expect(lines[0]).to.include("::got '\\x1b]0;pwned\\x07\\x1b[2J\\x0a::error title=X::forged\\x0d\\x0a");
  });

  it('the Markdown cell, the JUnit XML and the HTML page carry no raw control character', () => {
    const md = renderCheckMarkdown(summary);
    expect(md).to.not.match(RAW_CONTROL);
    const row = md.split('\n').filter((l) => l.startsWith('| 1.1 '));
    expect(row).to.have.length(1);
    expect(row[0]).to.include('\\\\x1b\\]0;pwned').and.include('\\| back');
    const xml = renderJunit(summary);
    expect(xml).to.not.match(RAW_CONTROL);
    expect(xml).to.include('\\x1b]0;pwned\\x07');
    const html = renderIndexHtml(
      { check: summary },
      { name: 'uPlot', script: '', css: '', version: '0', license: 'MIT' },
    );
    expect(html).to.not.match(RAW_CONTROL);
    expect(html).to.include('\\x1b]0;pwned\\x07');
  });
});
