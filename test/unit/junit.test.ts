import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderJunit, xmlAttr, xmlSafe, xmlText } from '../../harness/reporters/junit.js';
import { CATALOGUE } from '../../suites/conformance/catalogue.js';
import type { CaseResult } from '../../harness/results/case-result.js';
import { parseExpectations } from '../../harness/results/expectations.js';
import { summarize, type RunInfo } from '../../harness/results/summary.js';
import type { Verdict } from '../../harness/results/verdict.js';
import { renderLoadRunJunit } from '../../harness/reporters/load-run-tests.js';
import { loadReport } from '../../harness/reporters/load-json.js';
import { evaluateThresholds, parseThresholds } from '../../harness/load/thresholds.js';
import type { LoadResult } from '../../harness/load/types.js';
import { sampleLoadResult } from '../helpers/load-sample.js';
import { sampleResult, sampleRun } from '../helpers/check-sample.js';

/** What a real XML parser (python's minidom, strict about well-formedness) sees in a JUnit file. */
interface ParsedCase {
  suite: string;
  attrs: Record<string, string>;
  children: { tag: string; attrs: Record<string, string>; text: string }[];
}

const PARSE = `
import json, sys, xml.dom.minidom
doc = xml.dom.minidom.parse(sys.argv[1])
root = doc.documentElement
out = {"root": root.tagName, "rootAttrs": dict(root.attributes.items()), "suites": [], "cases": []}
for s in root.getElementsByTagName("testsuite"):
    out["suites"].append(dict(s.attributes.items()))
    for c in s.getElementsByTagName("testcase"):
        kids = []
        for k in c.childNodes:
            if k.nodeType == k.ELEMENT_NODE:
                text = "".join(t.data for t in k.childNodes if t.nodeType in (t.TEXT_NODE, t.CDATA_SECTION_NODE))
                kids.append({"tag": k.tagName, "attrs": dict(k.attributes.items()), "text": text})
        out["cases"].append({"suite": s.getAttribute("name"), "attrs": dict(c.attributes.items()), "children": kids})
print(json.dumps(out))
`;

function parseXml(xml: string): {
  root: string;
  rootAttrs: Record<string, string>;
  suites: Record<string, string>[];
  cases: ParsedCase[];
} {
  const dir = mkdtempSync(join(tmpdir(), 'echolot-junit-'));
  try {
    const file = join(dir, 'junit.xml');
    writeFileSync(file, xml);
    const r = spawnSync('python3', ['-c', PARSE, file], { encoding: 'utf8', timeout: 20_000 });
    expect(r.error, 'python3 must be available to parse the XML').to.equal(undefined);
    expect(r.status, r.stderr).to.equal(0);
    return JSON.parse(r.stdout) as ReturnType<typeof parseXml>;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const run: RunInfo = sampleRun({
  options: { strict: false, selected: [], seed: 42, timeoutMs: 1000, retries: 2 },
});

/** Characters XML 1.0 cannot carry, and the ones that need escaping. */
const NASTY = 'a\u0000b\u0001c\u001bd\ud800e\ufffff <&>"\' ]]> \t\r\n ok \u{1f600}';

const result = (id: string, verdict: Verdict, message = `${verdict.toLowerCase()} ${NASTY}`): CaseResult =>
  sampleResult(
    id,
    verdict,
    message,
    { received: NASTY, hex: '00 ff' },
    {
      durationMs: 1234,
      startedAt: '2026-01-01T00:00:00.100Z',
    },
  );

const RESULTS: Record<string, Verdict> = {
  '1.1': 'PASS',
  '1.2': 'FAIL',
  '2.1': 'ERROR',
  '3.1': 'UNSUPPORTED',
  '4.1': 'NON-STRICT',
  '3.2': 'INFO',
  '5.1': 'FLAKY',
};

describe('JUnit XML reporter', () => {
  it('escapes the controls XML 1.0 cannot carry, strips the rest of it and escapes markup in text and attributes', () => {
    expect(
      xmlSafe('a\u0000b\u0008c\u000bd\u001fe\ud800f\udc00g\ufffeh\uffffi\t\n\rj\u{1f600}\u007fk\u009b'),
    ).to.equal('a\\x00b\\x08c\\x0bd\\x1fefghi\t\n\rj\u{1f600}\\x7fk\\x9b');
    expect(xmlText('<a href="x">&amp; ]]>\r</a>')).to.equal(
      '&lt;a href="x"&gt;&amp;amp; ]]&gt;&#13;&lt;/a&gt;',
    );
    expect(xmlAttr(`"it's" <&>\t\n`)).to.equal('&quot;it&apos;s&quot; &lt;&amp;&gt;&#9;&#10;');
  });

  it('renders a well-formed file: a testsuite per section, name and classname on every testcase, verdicts mapped', () => {
    const selected = CATALOGUE.filter((c) => c.id in RESULTS);
    const summary = summarize(
      run,
      selected,
      Object.entries(RESULTS).map(([id, v]) => result(id, v)),
    );
    const doc = parseXml(renderJunit(summary));
    expect(doc.root).to.equal('testsuites');
    expect(doc.rootAttrs).to.include({ tests: '7', failures: '1', errors: '1', skipped: '1', time: '1.500' });
    expect(doc.suites.map((s) => s['name'])).to.deep.equal([
      '1 Basic echo',
      '2 Payload transparency',
      '3 Sizes',
      '4 Addressing',
      '5 Reply cardinality',
    ]);
    expect(doc.suites[0]).to.include({ tests: '2', failures: '1', errors: '0', skipped: '0', time: '2.468' });
    expect(doc.cases).to.have.length(7);
    for (const c of doc.cases) {
      const id = c.attrs['name']?.split(' ')[0] ?? '';
      const def = CATALOGUE.find((d) => d.id === id);
      expect(c.attrs['name']).to.equal(`${id} ${def?.title}`);
      expect(c.attrs['classname']).to.equal(`echolot.conformance.section-${id.split('.')[0]}`);
      expect(c.attrs['time']).to.equal('1.234');
    }
    const kids = (id: string): ParsedCase['children'] =>
      (doc.cases.find((c) => c.attrs['name']?.startsWith(`${id} `))?.children ?? []).filter(
        (k) => k.tag !== 'properties',
      );
    expect(kids('1.1')).to.deep.equal([]);
    const failure = kids('1.2');
    expect(failure.map((k) => k.tag)).to.deep.equal(['failure']);
    expect(failure[0]?.attrs).to.deep.equal({
      // One line, each control character as \xNN.
      message: 'fail a\\x00b\\x01c\\x1bdef <&>"\' ]]> \\x09\\x0d\\x0a ok \u{1f600}',
      type: 'FAIL',
    });
    expect(failure[0]?.text)
      .to.include('verdict: FAIL')
      .and.include('requirement (MUST)')
      .and.include('"hex": "00 ff"');
    expect(kids('2.1').map((k) => [k.tag, k.attrs['type']])).to.deep.equal([['error', 'ERROR']]);
    expect(kids('3.1').map((k) => [k.tag, k.attrs['message']?.slice(0, 11)])).to.deep.equal([
      ['skipped', 'unsupported'],
    ]);
    for (const [id, verdict] of [
      ['4.1', 'NON-STRICT'],
      ['3.2', 'INFO'],
      ['5.1', 'FLAKY'],
    ] as const) {
      expect(kids(id).map((k) => k.tag)).to.deep.equal(['system-out']);
      expect(kids(id)[0]?.text).to.match(new RegExp(`^verdict: ${verdict}\nmessage: `));
    }
  });

  it('carries the verdict, the expectation and the bug link as testcase properties', () => {
    const selected = CATALOGUE.filter((c) => ['1.1', '1.2'].includes(c.id));
    const expectations = parseExpectations(
      JSON.stringify({
        version: 1,
        targets: { '127.0.0.1:9007': { '1.2': { expected: 'FAIL', bug: 'https://bugs.example/?a=1&b=2' } } },
      }),
      'exp.json',
      new Set(CATALOGUE.map((c) => c.id)),
    );
    const summary = summarize(
      run,
      selected,
      [result('1.1', 'FAIL', 'short'), result('1.2', 'FAIL', 'known')],
      {
        expectations,
        file: 'exp.json',
      },
    );
    const doc = parseXml(renderJunit(summary));
    const xml = renderJunit(summary);
    expect(xml).to.include('<property name="bug" value="https://bugs.example/?a=1&amp;b=2"/>');
    expect(xml).to.include('<property name="unexpected" value="true"/>');
    const failures = doc.cases.map((c) => c.children.find((k) => k.tag === 'failure')?.attrs['message']);
    expect(failures).to.deep.equal(['short', '(expected) known']);
  });

  it("renders a load run's junit.xml: a testcase per threshold, a breach as <failure> with its value and unit, INCONCLUSIVE as <skipped>, interrupted as a property", () => {
    const base = sampleLoadResult('a1b2c3d4e5f60718');
    const xmlOf = (result: LoadResult, thresholds: readonly string[]): string =>
      renderLoadRunJunit(loadReport(result, evaluateThresholds(result, parseThresholds(thresholds))));
    const doc = parseXml(xmlOf(base, ['p99<2ms', 'loss<0.1%']));
    expect(doc.rootAttrs).to.include({ tests: '3', failures: '1', errors: '0', skipped: '0', time: '1.000' });
    expect(doc.suites).to.have.length(1);
    expect(doc.suites[0]).to.include({ name: 'load', tests: '3', failures: '1' });
    const outcome = (c: ParsedCase): [string, string, string | undefined] => {
      const k = c.children.find((x) => x.tag !== 'system-out');
      return [c.attrs['name'] ?? '', k?.tag ?? 'passed', k?.attrs['message']];
    };
    expect(doc.cases.map(outcome)).to.deep.equal([
      ['p99<2ms', 'passed', undefined],
      ['loss<0.1%', 'failure', 'breached loss<0.1%, actual 1.20%'],
      ['generator healthy', 'passed', undefined],
    ]);
    // The p99 of the sample is 402 us: the passed threshold says so in its output.
    expect(doc.cases[0]?.children[0]).to.deep.include({ tag: 'system-out', text: 'holds, actual 402 us' });

    const bound = { ...base, generator: { ...base.generator, bottleneck: true, reasons: ['send lag'] } };
    const inconclusive = parseXml(xmlOf(bound, ['p99<2ms']));
    expect(inconclusive.rootAttrs).to.include({ tests: '2', failures: '0', skipped: '1' });
    expect(inconclusive.cases.map(outcome)[1]).to.deep.equal([
      'generator healthy',
      'skipped',
      'INCONCLUSIVE: the generator was the bottleneck (send lag): no server capacity is claimed',
    ]);
    expect(parseXml(xmlOf(base, [])).cases.map(outcome)).to.deep.equal([['load run', 'passed', undefined]]);

    const interrupted = xmlOf({ ...base, interrupted: 'SIGTERM' }, ['p99<2ms']);
    expect(interrupted).to.include('<property name="interrupted" value="SIGTERM"/>');
    expect(interrupted).to.include('<property name="outcome" value="INTERRUPTED"/>');
    expect(xmlOf(base, ['p99<2ms'])).not.to.include('name="interrupted"');
  });
});
