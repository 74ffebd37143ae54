import type { CaseResult } from '../results/case-result.js';
import { CATALOGUE } from '../results/catalogue.js';
import type { CaseExpectation } from '../results/exit-decision.js';
import { caseExpectations, type Summary } from '../results/summary.js';

/** Longest evidence text put into one testcase; a report should open in any CI viewer. */
const MAX_DETAIL_CHARS = 64 * 1024;

/**
 * Removes what XML 1.0 cannot carry: control characters other than tab, LF and CR, lone surrogates,
 * U+FFFE and U+FFFF. (A wrong reply's bytes may end up in a message; the report must still parse.)
 */
export function xmlSafe(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu, '');
}

/** Escapes text for an attribute value (line breaks kept as character references, so parsers keep them). */
export function xmlAttr(text: string): string {
  return xmlSafe(text)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    .replace(/\t/g, '&#9;')
    .replace(/\n/g, '&#10;')
    .replace(/\r/g, '&#13;');
}

/** Escapes text for element content. */
export function xmlText(text: string): string {
  return xmlSafe(text)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\r/g, '&#13;');
}

const seconds = (ms: number): string => (Math.max(0, ms) / 1000).toFixed(3);

/** JUnit's timestamp form: ISO 8601 without fraction or zone (the value is UTC). */
const timestamp = (iso: string): string => iso.replace(/\.\d+/, '').replace(/Z$/, '');

const sectionOf = (id: string): string => id.split('.')[0] ?? id;

const sectionTitle = (section: string): string =>
  CATALOGUE.find((c) => sectionOf(c.id) === section)?.section ?? `${section}`;

const attrs = (pairs: Record<string, string | number | undefined>): string =>
  Object.entries(pairs)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${xmlAttr(String(v))}"`)
    .join('');

const property = (name: string, value: string | number | boolean): string =>
  `<property${attrs({ name, value: String(value) })}/>`;

function detail(c: CaseResult, e: CaseExpectation | undefined): string {
  const evidence = JSON.stringify(c.evidence, null, 2) ?? '{}';
  const text = [
    `verdict: ${c.verdict}`,
    `message: ${c.message}`,
    ...(e ? [`expected: ${e.expected.join(', ')}${e.unexpected ? ' (UNEXPECTED)' : ''}`] : []),
    ...(e?.bug ? [`bug: ${e.bug}`] : []),
    `requirement (${c.klass}): ${c.requirement}`,
    `source: ${c.source}`,
    `attempts: ${c.attempts}`,
    `evidence: ${evidence}`,
  ].join('\n');
  return text.length > MAX_DETAIL_CHARS
    ? `${text.slice(0, MAX_DETAIL_CHARS)}\n... (cut at ${MAX_DETAIL_CHARS} characters; the whole evidence is in summary.json)`
    : text;
}

function testcase(c: CaseResult, e: CaseExpectation | undefined): string {
  const head = `    <testcase${attrs({
    name: `${c.id} ${c.title}`,
    classname: `echolot.conformance.section-${sectionOf(c.id)}`,
    time: seconds(c.durationMs),
  })}>`;
  const props = [
    property('id', c.id),
    property('verdict', c.verdict),
    property('class', c.klass),
    property('attempts', c.attempts),
    ...(e ? [property('expected', e.expected.join(',')), property('unexpected', e.unexpected)] : []),
    ...(e?.bug ? [property('bug', e.bug)] : []),
  ];
  const body: string[] = [`      <properties>${props.join('')}</properties>`];
  // A FAIL the expectations file expects is still a <failure>; the message says it was expected.
  const prefix = e && !e.unexpected && (c.verdict === 'FAIL' || c.verdict === 'ERROR') ? '(expected) ' : '';
  const message = `${prefix}${c.message}`;
  switch (c.verdict) {
    case 'FAIL':
      body.push(`      <failure${attrs({ message, type: 'FAIL' })}>${xmlText(detail(c, e))}</failure>`);
      break;
    case 'ERROR':
      body.push(`      <error${attrs({ message, type: 'ERROR' })}>${xmlText(detail(c, e))}</error>`);
      break;
    case 'UNSUPPORTED':
      body.push(`      <skipped${attrs({ message })}/>`);
      break;
    case 'NON-STRICT':
    case 'INFO':
    case 'FLAKY':
      body.push(`      <system-out>${xmlText(detail(c, e))}</system-out>`);
      break;
    case 'PASS':
      break;
  }
  return [head, ...body, '    </testcase>'].join('\n');
}

/**
 * The summary as JUnit XML: one <testsuite> per catalogue section, name and classname on every
 * <testcase>, <failure> for FAIL, <error> for ERROR, <skipped> for UNSUPPORTED, and the verdict,
 * message and evidence in <system-out> for NON-STRICT, INFO and FLAKY. Pure.
 */
export function renderJunit(summary: Summary): string {
  const expectations = new Map(caseExpectations(summary).map((e) => [e.id, e]));
  const sections = new Map<string, CaseResult[]>();
  for (const c of summary.cases) {
    const list = sections.get(sectionOf(c.id)) ?? [];
    list.push(c);
    sections.set(sectionOf(c.id), list);
  }
  const count = (cases: readonly CaseResult[], verdict: CaseResult['verdict']): number =>
    cases.filter((c) => c.verdict === verdict).length;
  const run = summary.run;
  const runProps = [
    property('runId', run.runId),
    property('target', run.target.input),
    property('address', `${run.target.address}:${run.target.port}`),
    property('strict', run.options.strict),
    ...(run.options.seed === undefined ? [] : [property('seed', run.options.seed)]),
    property('privileged', run.platform.privileged),
    property('exitCode', summary.exitCode),
    ...(summary.expectations?.file ? [property('expectations', summary.expectations.file)] : []),
  ];
  const suites = [...sections].map(([section, cases], index) => {
    const time = cases.reduce((t, c) => t + c.durationMs, 0);
    return [
      `  <testsuite${attrs({
        name: sectionTitle(section),
        id: index,
        package: 'echolot.conformance',
        tests: cases.length,
        failures: count(cases, 'FAIL'),
        errors: count(cases, 'ERROR'),
        skipped: count(cases, 'UNSUPPORTED'),
        time: seconds(time),
        timestamp: timestamp(cases[0]?.startedAt || run.startedAt),
        hostname: 'localhost',
      })}>`,
      `    <properties>${runProps.join('')}</properties>`,
      ...cases.map((c) => testcase(c, expectations.get(c.id))),
      '  </testsuite>',
    ].join('\n');
  });
  const head = `<testsuites${attrs({
    name: `echolot check ${run.target.input}`,
    tests: summary.total,
    failures: summary.counts.FAIL,
    errors: summary.counts.ERROR,
    skipped: summary.counts.UNSUPPORTED,
    time: seconds(run.durationMs),
    timestamp: timestamp(run.startedAt),
  })}>`;
  return ['<?xml version="1.0" encoding="UTF-8"?>', head, ...suites, '</testsuites>', ''].join('\n');
}
