import type { CaseResult } from '../results/case-result.js';
import type { CaseExpectation } from '../results/exit-decision.js';
import { caseExpectations, type Summary } from '../results/summary.js';
import { escapeControls } from '../core/escape.js';

/** Longest evidence text put into one testcase; a report should open in any CI viewer. */
const MAX_DETAIL_CHARS = 64 * 1024;

/** What XML 1.0 cannot carry once the controls are escaped: lone surrogates, U+FFFE and U+FFFF. */
// eslint-disable-next-line no-control-regex
const NOT_XML = /[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu;

/**
 * Text XML 1.0 can carry: control characters other than tab, LF and CR (and DEL and the C1 controls,
 * which XML allows but a CI log would print) as `\xNN`, lone surrogates, U+FFFE and U+FFFF removed.
 * (A wrong reply's bytes may end up in a message; the report must still parse.)
 */
export function xmlSafe(text: string): string {
  return escapeControls(text, { keepLineBreaks: true }).replace(NOT_XML, '');
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

const attrs = (pairs: Record<string, string | number | undefined>): string =>
  Object.entries(pairs)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${xmlAttr(String(v))}"`)
    .join('');

/** A name and value of a <properties> list. */
export type JunitProperty = readonly [name: string, value: string | number | boolean];

const properties = (list: readonly JunitProperty[]): string =>
  `<properties>${list.map(([name, value]) => `<property${attrs({ name, value: String(value) })}/>`).join('')}</properties>`;

/** What a testcase ended as: <failure>, <error> or <skipped> with a one-line message and the detail. */
export interface JunitOutcome {
  readonly tag: 'failure' | 'error' | 'skipped';
  /** One line, as CI viewers show it (control characters escaped here). */
  readonly message: string;
  readonly type?: string;
  /** The element's text (not for <skipped>). */
  readonly detail?: string;
}

/** One <testcase>. */
export interface JunitCase {
  readonly name: string;
  readonly classname: string;
  readonly durationMs: number;
  readonly properties?: readonly JunitProperty[];
  readonly outcome?: JunitOutcome;
  /** Text of <system-out>: what a passed case has to say. */
  readonly systemOut?: string;
}

/** One <testsuite>; its counts are those of its cases. */
export interface JunitSuite {
  readonly name: string;
  readonly id?: number;
  readonly package?: string;
  readonly durationMs: number;
  /** ISO 8601. */
  readonly startedAt: string;
  readonly hostname?: string;
  readonly properties?: readonly JunitProperty[];
  readonly cases: readonly JunitCase[];
}

/** A whole JUnit document: <testsuites> counting every suite's cases. */
export interface JunitDocument {
  readonly name: string;
  readonly durationMs: number;
  /** ISO 8601. */
  readonly startedAt: string;
  readonly suites: readonly JunitSuite[];
}

const countOf = (cases: readonly JunitCase[], tag: JunitOutcome['tag']): number =>
  cases.filter((c) => c.outcome?.tag === tag).length;

function renderCase(c: JunitCase): string {
  const head = `    <testcase${attrs({ name: c.name, classname: c.classname, time: seconds(c.durationMs) })}`;
  const body: string[] = [];
  if (c.properties !== undefined) body.push(`      ${properties(c.properties)}`);
  const o = c.outcome;
  if (o !== undefined) {
    const a = attrs({ message: escapeControls(o.message), type: o.type });
    body.push(
      o.tag === 'skipped' && o.detail === undefined
        ? `      <skipped${a}/>`
        : `      <${o.tag}${a}>${xmlText(o.detail ?? '')}</${o.tag}>`,
    );
  }
  if (c.systemOut !== undefined) body.push(`      <system-out>${xmlText(c.systemOut)}</system-out>`);
  return body.length === 0 ? `${head}/>` : [`${head}>`, ...body, '    </testcase>'].join('\n');
}

/**
 * The one JUnit serializer of every report (the check's, the load gates', a load run's): testsuites,
 * testsuite and testcase with name, classname, time, counts and timestamps, text made XML-safe. Pure.
 */
export function renderJunitDocument(doc: JunitDocument): string {
  const all = doc.suites.flatMap((s) => s.cases);
  const suites = doc.suites.map((s) =>
    [
      `  <testsuite${attrs({
        name: s.name,
        id: s.id,
        package: s.package,
        tests: s.cases.length,
        failures: countOf(s.cases, 'failure'),
        errors: countOf(s.cases, 'error'),
        skipped: countOf(s.cases, 'skipped'),
        time: seconds(s.durationMs),
        timestamp: timestamp(s.startedAt),
        hostname: s.hostname,
      })}>`,
      ...(s.properties === undefined ? [] : [`    ${properties(s.properties)}`]),
      ...s.cases.map(renderCase),
      '  </testsuite>',
    ].join('\n'),
  );
  const head = `<testsuites${attrs({
    name: doc.name,
    tests: all.length,
    failures: countOf(all, 'failure'),
    errors: countOf(all, 'error'),
    skipped: countOf(all, 'skipped'),
    time: seconds(doc.durationMs),
    timestamp: timestamp(doc.startedAt),
  })}>`;
  return ['<?xml version="1.0" encoding="UTF-8"?>', head, ...suites, '</testsuites>', ''].join('\n');
}

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

function testcase(c: CaseResult, e: CaseExpectation | undefined): JunitCase {
  // A FAIL the expectations file expects is still a <failure>; the message says it was expected.
  const prefix = e && !e.unexpected && (c.verdict === 'FAIL' || c.verdict === 'ERROR') ? '(expected) ' : '';
  const message = `${prefix}${c.message}`;
  const outcome: JunitOutcome | undefined =
    c.verdict === 'FAIL'
      ? { tag: 'failure', message, type: 'FAIL', detail: detail(c, e) }
      : c.verdict === 'ERROR'
        ? { tag: 'error', message, type: 'ERROR', detail: detail(c, e) }
        : c.verdict === 'UNSUPPORTED' || c.verdict === 'NOT-RUN'
          ? { tag: 'skipped', message }
          : undefined;
  const noted = c.verdict === 'NON-STRICT' || c.verdict === 'INFO' || c.verdict === 'FLAKY';
  return {
    name: `${c.id} ${c.title}`,
    classname: `echolot.conformance.section-${sectionOf(c.id)}`,
    durationMs: c.durationMs,
    properties: [
      ['id', c.id],
      ['verdict', c.verdict],
      ['class', c.klass],
      ['attempts', c.attempts],
      ...(e
        ? ([
            ['expected', e.expected.join(',')],
            ['unexpected', e.unexpected],
          ] as const)
        : []),
      ...(e?.bug ? ([['bug', e.bug]] as const) : []),
    ],
    ...(outcome === undefined ? {} : { outcome }),
    ...(noted ? { systemOut: detail(c, e) } : {}),
  };
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
  const run = summary.run;
  const runProps: JunitProperty[] = [
    ['runId', run.runId],
    ['target', run.target.input],
    ['address', `${run.target.address}:${run.target.port}`],
    ['strict', run.options.strict],
    ...(run.options.seed === undefined ? [] : ([['seed', run.options.seed]] as const)),
    ['privileged', run.platform.privileged],
    ['exitCode', summary.exitCode],
    ...(run.interrupted === undefined ? [] : ([['interrupted', run.interrupted]] as const)),
    ...(summary.expectations?.file ? ([['expectations', summary.expectations.file]] as const) : []),
  ];
  return renderJunitDocument({
    name: `echolot check ${run.target.input}`,
    durationMs: run.durationMs,
    startedAt: run.startedAt,
    suites: [...sections].map(([section, cases], index) => ({
      name: cases[0]?.section ?? section,
      id: index,
      package: 'echolot.conformance',
      durationMs: cases.reduce((t, c) => t + c.durationMs, 0),
      startedAt: cases[0]?.startedAt || run.startedAt,
      hostname: 'localhost',
      properties: runProps,
      cases: cases.map((c) => testcase(c, expectations.get(c.id))),
    })),
  });
}
