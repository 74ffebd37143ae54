import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HarnessError } from '../../harness/errors.js';
import { CATALOGUE } from '../../suites/conformance/catalogue.js';
import type { CaseResult } from '../../harness/results/case-result.js';
import { classify, decideExit, UNLISTED_EXPECTED } from '../../harness/results/exit-decision.js';
import {
  evaluateExpectations,
  loadExpectations,
  parseExpectations,
  renderExpectations,
  targetKeys,
  updateExpectations,
  type Expectations,
} from '../../harness/results/expectations.js';
import { decideExitCode, summarize, type RunInfo } from '../../harness/results/summary.js';
import type { Verdict } from '../../harness/results/verdict.js';

const run = (over: { target?: Partial<RunInfo['target']>; privileged?: boolean } = {}): RunInfo => ({
  runId: 'r',
  tool: { name: 'echolot', version: '0' },
  target: {
    input: 'localhost:9007',
    host: 'localhost',
    address: '127.0.0.1',
    port: 9007,
    family: 'IPv4',
    embedded: false,
    ...over.target,
  },
  options: { strict: false, selected: [], timeoutMs: 1000, retries: 2 },
  platform: { os: 'linux', node: 'v20', privileged: over.privileged ?? true },
  ioPath: 'node:dgram',
  preflight: { rttMs: 0 },
  startedAt: '2026-01-01T00:00:00.000Z',
  finishedAt: '2026-01-01T00:00:01.000Z',
  durationMs: 1000,
});

const result = (id: string, verdict: Verdict): CaseResult => {
  const def = CATALOGUE.find((c) => c.id === id);
  if (!def) throw new Error(id);
  return { ...def, verdict, message: 'm', evidence: {}, attempts: 1, durationMs: 1, startedAt: '' };
};

/** Every case ID of the catalogue. */
const CASE_IDS = new Set(CATALOGUE.map((c) => c.id));

const verdicts = (pairs: Record<string, Verdict>): { id: string; verdict: Verdict }[] =>
  Object.entries(pairs).map(([id, verdict]) => ({ id, verdict }));

const parse = (doc: unknown): Expectations => parseExpectations(JSON.stringify(doc), 'exp.json', CASE_IDS);

const parseError = (doc: unknown): HarnessError => {
  try {
    parseExpectations(typeof doc === 'string' ? doc : JSON.stringify(doc), 'exp.json', CASE_IDS);
  } catch (err) {
    expect(err).to.be.instanceOf(HarnessError);
    return err as HarnessError;
  }
  throw new Error('expected a HarnessError');
};

const EXAMPLE = {
  version: 1,
  targets: {
    '127.0.0.1:9007': {
      '3.1': { expected: 'FAIL', bug: 'https://bugs.example/1' },
      '4.3': [
        { expected: ['PASS', 'INFO'], if: { privileged: true } },
        { expected: 'UNSUPPORTED', if: { privileged: false, os: ['linux', 'freebsd'] } },
      ],
    },
  },
  default: { '3.2': { expected: ['FAIL', 'PASS'], if: { family: 'IPv4' } } },
};

describe('expectations files', () => {
  describe('parseExpectations', () => {
    it('accepts single verdicts, lists, conditions, bug links, entry lists and a default section', () => {
      const e = parse(EXAMPLE);
      const target = e.targets.get('127.0.0.1:9007');
      expect(target?.get('3.1')).to.deep.equal([{ expected: ['FAIL'], bug: 'https://bugs.example/1' }]);
      expect(target?.get('4.3')?.[1]).to.deep.equal({
        expected: ['UNSUPPORTED'],
        if: { privileged: false, os: ['linux', 'freebsd'] },
      });
      expect(e.default?.get('3.2')).to.deep.equal([{ expected: ['FAIL', 'PASS'], if: { family: 'IPv4' } }]);
    });

    it('round-trips through renderExpectations', () => {
      const e = parse(EXAMPLE);
      expect(parseExpectations(renderExpectations(e), 'again', CASE_IDS)).to.deep.equal(e);
      expect(JSON.parse(renderExpectations(e))).to.deep.equal(EXAMPLE);
    });

    const bad: [string, unknown, RegExp][] = [
      ['text that is not JSON', '{"version": 1,', /^exp\.json: not valid JSON: /],
      ['a top level that is not an object', [1], /^exp\.json: must be a JSON object .*got \[1\]$/],
      ['a wrong version', { version: 2, targets: {} }, /^exp\.json: version: must be 1, got 2$/],
      [
        'an unknown verdict',
        { version: 1, targets: { 'h:7': { '3.1': { expected: 'FIAL' } } } },
        /^exp\.json: targets\["h:7"\]\["3\.1"\]\.expected: must be a verdict \(PASS, FLAKY, INFO, NON-STRICT, UNSUPPORTED, NOT-RUN, FAIL, ERROR\) or a non-empty list of them, got "FIAL"$/,
      ],
      [
        'an empty verdict list',
        { version: 1, targets: { 'h:7': { '3.1': { expected: [] } } } },
        /targets\["h:7"\]\["3\.1"\]\.expected: must be a verdict .* got \[\]$/,
      ],
      [
        'a missing expected',
        { version: 1, targets: { 'h:7': { '3.1': { bug: 'x' } } } },
        /targets\["h:7"\]\["3\.1"\]\.expected: is required/,
      ],
      [
        'an unknown case ID',
        { version: 1, targets: { 'h:7': { '9.99': { expected: 'FAIL' } } } },
        /targets\["h:7"\]\["9\.99"\]: must be a case ID of the catalogue .*got "9\.99"$/,
      ],
      [
        'an unknown field in an entry',
        { version: 1, targets: { 'h:7': { '3.1': { expected: 'FAIL', expect: 'PASS' } } } },
        /targets\["h:7"\]\["3\.1"\]\["expect"\]: unknown field \(allowed: expected, if, bug\), got "PASS"$/,
      ],
      [
        'a bad family condition in an entry list',
        {
          version: 1,
          default: { '4.3': [{ expected: 'PASS' }, { expected: 'FAIL', if: { family: 'ipv6' } }] },
        },
        /^exp\.json: default\["4\.3"\]\[1\]\.if\.family: must be "IPv4" or "IPv6", got "ipv6"$/,
      ],
      [
        'a privileged condition that is not a boolean',
        { version: 1, targets: { 'h:7': { '7.1': { expected: 'PASS', if: { privileged: 'yes' } } } } },
        /\.if\.privileged: must be true or false, got "yes"$/,
      ],
      [
        'an empty bug link',
        { version: 1, targets: { 'h:7': { '3.1': { expected: 'FAIL', bug: '' } } } },
        /\["3\.1"\]\.bug: must be a non-empty string \(a link\), got ""$/,
      ],
    ];
    for (const [what, doc, message] of bad) {
      it(`rejects ${what} with one line naming the file, the field, the rule and the value`, () => {
        const err = parseError(doc);
        expect(err.code).to.equal('ERR_ECHOLOT_EXPECTATIONS');
        expect(err.exitCode).to.equal(64);
        expect(err.message).to.match(message);
        expect(err.message).to.not.include('\n');
      });
    }

    it('lists every problem of a file in the one line', () => {
      const err = parseError({
        version: 1,
        targets: { 'h:7': { '3.1': { expected: 'X' }, '1.1': { expected: 'PASS', if: { os: 7 } } } },
      });
      expect(err.message).to.include('["3.1"].expected').and.include('["1.1"].if.os').and.include('; ');
    });
  });

  describe('loadExpectations', () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'echolot-exp-'));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('names the option and the file when the file is missing (exit 64), or returns undefined when that is allowed', async () => {
      const missing = join(dir, 'nope.json');
      const err = await loadExpectations(missing, '--expectations', CASE_IDS).then(
        () => undefined,
        (e: unknown) => e as HarnessError,
      );
      expect(err?.code).to.equal('ERR_ECHOLOT_EXPECTATIONS');
      expect(err?.message).to.equal(`--expectations ${missing}: no such file`);
      expect(await loadExpectations(missing, '--update-expectations', CASE_IDS, true)).to.equal(undefined);
    });

    it('prefixes validation problems with the option and the file', async () => {
      const file = join(dir, 'bad.json');
      writeFileSync(file, '{"version": 1, "targets": {"h:7": {"3.1": {"expected": "NOPE"}}}}');
      const err = await loadExpectations(file, '--expectations', CASE_IDS).then(
        () => undefined,
        (e: unknown) => e as HarnessError,
      );
      expect(err?.message).to.match(
        new RegExp(`^--expectations ${file}: targets\\["h:7"\\]\\["3\\.1"\\]\\.expected`),
      );
    });
  });

  describe('evaluateExpectations', () => {
    const e = parse(EXAMPLE);

    it('looks a target up as given, as ADDRESS:PORT, or as "embedded"', () => {
      expect(targetKeys(run())).to.deep.equal(['localhost:9007', '127.0.0.1:9007']);
      expect(targetKeys(run({ target: { embedded: true } }))).to.deep.equal(['embedded']);
      expect(targetKeys(run({ target: { input: '[::1]:7', address: '::1', port: 7 } }))).to.deep.equal([
        '[::1]:7',
      ]);
      const [judged] = evaluateExpectations(e, run(), verdicts({ '3.1': 'FAIL' }));
      expect(judged).to.deep.include({ status: 'expected', from: 'target', bug: 'https://bugs.example/1' });
    });

    it('takes the first entry whose conditions hold, then the default section, then the unlisted rule', () => {
      const privileged = evaluateExpectations(e, run(), verdicts({ '4.3': 'UNSUPPORTED', '3.2': 'FAIL' }));
      expect(privileged.map((c) => [c.id, c.status, c.from])).to.deep.equal([
        ['4.3', 'unexpected-pass', 'target'],
        ['3.2', 'expected', 'default'],
      ]);
      const unprivileged = evaluateExpectations(
        e,
        run({ privileged: false }),
        verdicts({ '4.3': 'UNSUPPORTED' }),
      );
      expect(unprivileged[0]?.status).to.equal('expected');
      const v6 = evaluateExpectations(
        e,
        run({ target: { family: 'IPv6' } }),
        verdicts({ '3.2': 'FAIL', '1.1': 'INFO' }),
      );
      expect(v6.map((c) => [c.status, c.from])).to.deep.equal([
        ['unexpected-fail', 'unlisted'],
        ['expected', 'unlisted'],
      ]);
      expect(v6[1]?.expected).to.deep.equal(UNLISTED_EXPECTED);
    });

    it('leaves a target the file does not name to the default section and the unlisted rule', () => {
      const other = evaluateExpectations(
        e,
        run({ target: { input: '127.0.0.1:1', port: 1 } }),
        verdicts({ '3.1': 'FAIL' }),
      );
      expect(other[0]).to.deep.include({ status: 'unexpected-fail', from: 'unlisted' });
    });
  });

  describe('the exit decision', () => {
    it('classifies a verdict against its expected set', () => {
      expect(classify('FAIL', ['FAIL'])).to.equal('expected');
      expect(classify('FAIL', ['PASS'])).to.equal('unexpected-fail');
      expect(classify('ERROR', ['FAIL'])).to.equal('unexpected-error');
      expect(classify('PASS', ['FAIL'])).to.equal('unexpected-pass');
      expect(classify('FLAKY', ['PASS'])).to.equal('unexpected-pass');
    });

    it('is 1 on an unexpected FAIL, else 70 on an unexpected ERROR, else 2 on an unexpected pass with the flag, else 0', () => {
      const s = (...statuses: ReturnType<typeof classify>[]): { status: ReturnType<typeof classify> }[] =>
        statuses.map((status) => ({ status }));
      expect(decideExit(s())).to.equal(0);
      expect(decideExit(s('expected', 'expected'))).to.equal(0);
      expect(decideExit(s('unexpected-pass'))).to.equal(0);
      expect(decideExit(s('unexpected-pass'), { failOnUnexpectedPass: true })).to.equal(2);
      expect(decideExit(s('unexpected-pass', 'unexpected-error'), { failOnUnexpectedPass: true })).to.equal(
        70,
      );
      expect(decideExit(s('unexpected-error', 'unexpected-fail', 'unexpected-pass'))).to.equal(1);
    });

    it('without a file, keeps the plain rule of decideExitCode', () => {
      const zero = {
        PASS: 0,
        FLAKY: 0,
        INFO: 0,
        'NON-STRICT': 0,
        UNSUPPORTED: 0,
        'NOT-RUN': 0,
        FAIL: 0,
        ERROR: 0,
      };
      expect(
        decideExitCode({ ...zero, PASS: 1, 'NON-STRICT': 1, INFO: 1, FLAKY: 1, UNSUPPORTED: 1 }),
      ).to.equal(0);
      expect(decideExitCode({ ...zero, FAIL: 1, ERROR: 1 })).to.equal(1);
      expect(decideExitCode({ ...zero, ERROR: 1 })).to.equal(70);
      const selected = CATALOGUE.filter((c) => ['1.1', '3.1', '4.3'].includes(c.id));
      const plain = summarize(run(), selected, [
        result('1.1', 'PASS'),
        result('3.1', 'FAIL'),
        result('4.3', 'NON-STRICT'),
      ]);
      expect(plain.exitCode).to.equal(1);
      expect(plain.expectations?.cases.map((c) => c.unexpected)).to.deep.equal([false, true, false]);
    });

    it('summarize judges against the file: expected FAIL 0, unexpected FAIL 1, unexpected pass 0 or 2, ERROR 70 unless expected', () => {
      const file = parse({
        version: 1,
        targets: { 'localhost:9007': { '3.1': { expected: 'FAIL' }, '1.2': { expected: 'ERROR' } } },
      });
      const selected = CATALOGUE.filter((c) => ['1.1', '1.2', '3.1'].includes(c.id));
      const judge = (r: Record<string, Verdict>, failOnUnexpectedPass = false): number =>
        summarize(
          run(),
          selected,
          Object.entries(r).map(([id, v]) => result(id, v)),
          { expectations: file, file: 'exp.json', failOnUnexpectedPass },
        ).exitCode;
      expect(judge({ '1.1': 'PASS', '1.2': 'ERROR', '3.1': 'FAIL' })).to.equal(0);
      expect(judge({ '1.1': 'FAIL', '1.2': 'ERROR', '3.1': 'FAIL' })).to.equal(1);
      expect(judge({ '1.1': 'PASS', '1.2': 'ERROR', '3.1': 'PASS' })).to.equal(0);
      expect(judge({ '1.1': 'PASS', '1.2': 'ERROR', '3.1': 'PASS' }, true)).to.equal(2);
      expect(judge({ '1.1': 'ERROR', '1.2': 'ERROR', '3.1': 'FAIL' })).to.equal(70);
      const s = summarize(
        run(),
        selected,
        [result('1.1', 'PASS'), result('1.2', 'PASS'), result('3.1', 'FAIL')],
        {
          expectations: file,
          file: 'exp.json',
        },
      );
      expect(s.expectations).to.deep.include({ file: 'exp.json', targetKey: 'localhost:9007' });
      expect(s.expectations?.cases.map((c) => c.status)).to.deep.equal([
        'expected',
        'unexpected-pass',
        'expected',
      ]);
    });
  });

  describe('updateExpectations', () => {
    const existing = parse({
      version: 1,
      targets: {
        'localhost:9007': {
          '2.5': { expected: 'FAIL', bug: 'https://bugs.example/25' },
          '3.1': { expected: 'NON-STRICT', if: { os: 'linux' }, bug: 'https://bugs.example/31' },
          '5.1': { expected: 'FAIL' },
          '1.1': { expected: 'FAIL' },
        },
        'other:7': { '1.1': { expected: 'FAIL' } },
      },
      default: { '4.3': { expected: 'NON-STRICT' } },
    });

    it('records FAIL and NON-STRICT, keeps matching entries with their bug links and conditions, drops stale ones', () => {
      const { expectations, key, changes } = updateExpectations(
        existing,
        run(),
        verdicts({
          '1.1': 'ERROR', // a harness fault changes nothing
          '1.2': 'FAIL', // new
          '2.5': 'FAIL', // unchanged, bug link kept
          '3.1': 'FAIL', // changed, bug link and condition kept
          '3.2': 'INFO', // unlisted and accepted: nothing
          '4.1': 'NON-STRICT', // recorded
          '4.3': 'PASS', // the default section expects NON-STRICT: overridden for this target
          '5.1': 'PASS', // fixed: removed
        }),
      );
      expect(key).to.equal('localhost:9007');
      expect(changes).to.deep.equal([
        { id: '1.2', kind: 'added', verdict: 'FAIL', after: ['FAIL'] },
        { id: '3.1', kind: 'changed', verdict: 'FAIL', before: ['NON-STRICT'], after: ['FAIL'] },
        { id: '4.1', kind: 'added', verdict: 'NON-STRICT', after: ['NON-STRICT'] },
        { id: '4.3', kind: 'added', verdict: 'PASS', after: ['PASS'] },
        { id: '5.1', kind: 'removed', verdict: 'PASS', before: ['FAIL'] },
      ]);
      expect(JSON.parse(renderExpectations(expectations))).to.deep.equal({
        version: 1,
        targets: {
          'localhost:9007': {
            '1.1': { expected: 'FAIL' },
            '1.2': { expected: 'FAIL' },
            '2.5': { expected: 'FAIL', bug: 'https://bugs.example/25' },
            '3.1': { expected: 'FAIL', if: { os: 'linux' }, bug: 'https://bugs.example/31' },
            '4.1': { expected: 'NON-STRICT' },
            '4.3': { expected: 'PASS' },
          },
          'other:7': { '1.1': { expected: 'FAIL' } },
        },
        default: { '4.3': { expected: 'NON-STRICT' } },
      });
    });

    it('judges its own output as all expected (a second update changes nothing)', () => {
      const run1 = verdicts({ '1.2': 'FAIL', '3.1': 'NON-STRICT', '4.3': 'PASS', '5.1': 'PASS' });
      const first = updateExpectations(existing, run(), run1);
      const again = updateExpectations(first.expectations, run(), run1);
      expect(again.changes).to.deep.equal([]);
      expect(evaluateExpectations(first.expectations, run(), run1).filter((c) => c.unexpected)).to.deep.equal(
        [],
      );
    });

    it('appends an unconditional entry after conditional ones that do not apply', () => {
      const { expectations } = updateExpectations(existing, run({ target: {} }), verdicts({ '3.1': 'FAIL' }));
      expect(expectations.targets.get('localhost:9007')?.get('3.1')?.[0]?.bug).to.equal(
        'https://bugs.example/31',
      );
      const mac = { ...run(), platform: { ...run().platform, os: 'darwin' } };
      const onMac = updateExpectations(existing, mac, verdicts({ '3.1': 'FAIL' }));
      expect(onMac.expectations.targets.get('localhost:9007')?.get('3.1')).to.deep.equal([
        { expected: ['NON-STRICT'], if: { os: 'linux' }, bug: 'https://bugs.example/31' },
        { expected: ['FAIL'] },
      ]);
    });

    it('creates a file for a new target under the key as given, or "embedded", and writes nothing for a clean run', () => {
      const fresh = updateExpectations(
        undefined,
        run({ target: { embedded: true } }),
        verdicts({ '3.1': 'FAIL' }),
      );
      expect(fresh.key).to.equal('embedded');
      expect(renderExpectations(fresh.expectations)).to.equal(
        '{\n  "version": 1,\n  "targets": {\n    "embedded": {\n      "3.1": {\n        "expected": "FAIL"\n      }\n    }\n  }\n}\n',
      );
      const clean = updateExpectations(undefined, run(), verdicts({ '3.1': 'PASS', '3.4': 'INFO' }));
      expect([...clean.expectations.targets]).to.deep.equal([]);
    });
  });
});
