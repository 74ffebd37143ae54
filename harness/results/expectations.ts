/**
 * Expectations files (web-platform-tests style): per target and case, the verdicts a CI run should
 * accept, so that a gate fails on *changes* rather than on known defects. Format: docs/ci.md.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { HarnessError, errnoOf, type Problem } from '../errors.js';
import { fileProblem } from '../core/writable.js';
import type { Family } from '../protocol/constants.js';
import {
  UNLISTED_EXPECTED,
  classify,
  type CaseExpectation,
  type ExpectationSource,
} from './exit-decision.js';
import type { RunInfo } from './run-info.js';
import { VERDICTS, type Verdict } from './verdict.js';
import { formatEndpoint } from '../core/address.js';

/** The format version this echolot reads and writes. */
export const EXPECTATIONS_VERSION = 1;

/** The target key of the embedded reference server (`echolot check` without a target). */
export const EMBEDDED_KEY = 'embedded';

/** When an entry applies; every given condition must hold. */
export interface ExpectationConditions {
  /** Node's platform name(s): linux, darwin, freebsd, win32, ... */
  readonly os?: string | readonly string[];
  /** Address family of the target. */
  readonly family?: Family;
  /** Whether the harness runs privileged (root / CAP_NET_BIND_SERVICE). */
  readonly privileged?: boolean;
}

/** One expectation of one case: the accepted verdicts, when it applies, and a bug link. */
export interface ExpectationEntry {
  readonly expected: readonly Verdict[];
  readonly if?: ExpectationConditions;
  readonly bug?: string;
}

/** Case ID -> its entries; the first entry whose conditions hold applies. */
export type CaseExpectations = ReadonlyMap<string, readonly ExpectationEntry[]>;

/** A validated expectations file. */
export interface Expectations {
  readonly version: typeof EXPECTATIONS_VERSION;
  /** Target key (`HOST:PORT` as given, `ADDRESS:PORT`, or `embedded`) -> its cases. */
  readonly targets: ReadonlyMap<string, CaseExpectations>;
  /** Entries for any target, below the target's own entries. */
  readonly default?: CaseExpectations;
}

/** The run's conditions that an entry's `if` is matched against. */
export interface ConditionContext {
  readonly os: string;
  readonly family: Family;
  readonly privileged: boolean;
}

/** One change --update-expectations made to a target's entries. */
export interface ExpectationChange {
  readonly id: string;
  readonly kind: 'added' | 'changed' | 'removed';
  /** This run's verdict. */
  readonly verdict: Verdict;
  /** The expected verdicts before (changed, removed). */
  readonly before?: readonly Verdict[];
  /** The expected verdicts after (added, changed). */
  readonly after?: readonly Verdict[];
}

/** Verdicts --update-expectations writes down; the others are expected of an unlisted case anyway or are chance. */
export const RECORDED_VERDICTS: readonly Verdict[] = Object.freeze(['FAIL', 'NON-STRICT']);

const FAMILIES: readonly Family[] = ['IPv4', 'IPv6'];

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const show = (v: unknown): string => {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
};

const key = (k: string): string => `[${JSON.stringify(k)}]`;

function unknownFields(
  problems: Problem[],
  path: string,
  value: Record<string, unknown>,
  allowed: readonly string[],
): void {
  for (const k of Object.keys(value)) {
    if (!allowed.includes(k)) {
      problems.push({
        path: `${path}${key(k)}`,
        message: `unknown field (allowed: ${allowed.join(', ')}), got ${show(value[k])}`,
      });
    }
  }
}

function parseVerdicts(problems: Problem[], path: string, value: unknown): Verdict[] | undefined {
  const rule = `must be a verdict (${VERDICTS.join(', ')}) or a non-empty list of them`;
  const list = Array.isArray(value) ? (value as unknown[]) : [value];
  const bad =
    list.length === 0 || list.some((v) => typeof v !== 'string' || !VERDICTS.includes(v as Verdict));
  if (bad) {
    problems.push({ path, message: `${rule}, got ${show(value)}` });
    return undefined;
  }
  const verdicts = list as Verdict[];
  if (new Set(verdicts).size !== verdicts.length) {
    problems.push({ path, message: `must not repeat a verdict, got ${show(value)}` });
    return undefined;
  }
  return verdicts;
}

function parseConditions(
  problems: Problem[],
  path: string,
  value: unknown,
): ExpectationConditions | undefined {
  if (!isObject(value)) {
    problems.push({
      path,
      message: `must be an object with os, family and/or privileged, got ${show(value)}`,
    });
    return undefined;
  }
  unknownFields(problems, path, value, ['os', 'family', 'privileged']);
  const out: { os?: string | string[]; family?: Family; privileged?: boolean } = {};
  const { os, family, privileged } = value;
  if (os !== undefined) {
    const list = Array.isArray(os) ? (os as unknown[]) : [os];
    if (list.length === 0 || list.some((o) => typeof o !== 'string' || o.trim() === '')) {
      problems.push({
        path: `${path}.os`,
        message: `must be a platform name such as "linux" or a non-empty list of them, got ${show(os)}`,
      });
    } else out.os = Array.isArray(os) ? (list as string[]) : (os as string);
  }
  if (family !== undefined) {
    if (typeof family !== 'string' || !FAMILIES.includes(family as Family)) {
      problems.push({ path: `${path}.family`, message: `must be "IPv4" or "IPv6", got ${show(family)}` });
    } else out.family = family as Family;
  }
  if (privileged !== undefined) {
    if (typeof privileged !== 'boolean') {
      problems.push({
        path: `${path}.privileged`,
        message: `must be true or false, got ${show(privileged)}`,
      });
    } else out.privileged = privileged;
  }
  return out;
}

function parseEntry(problems: Problem[], path: string, value: unknown): ExpectationEntry | undefined {
  if (!isObject(value)) {
    problems.push({
      path,
      message: `must be an object such as {"expected": "FAIL"} (or a list of them), got ${show(value)}`,
    });
    return undefined;
  }
  unknownFields(problems, path, value, ['expected', 'if', 'bug']);
  if (!('expected' in value)) {
    problems.push({ path: `${path}.expected`, message: 'is required (a verdict or a list of verdicts)' });
    return undefined;
  }
  const expected = parseVerdicts(problems, `${path}.expected`, value['expected']);
  const conditions =
    value['if'] === undefined ? undefined : parseConditions(problems, `${path}.if`, value['if']);
  const bug = value['bug'];
  if (bug !== undefined && (typeof bug !== 'string' || bug.trim() === '')) {
    problems.push({ path: `${path}.bug`, message: `must be a non-empty string (a link), got ${show(bug)}` });
  }
  if (!expected) return undefined;
  return {
    expected,
    ...(conditions ? { if: conditions } : {}),
    ...(typeof bug === 'string' && bug.trim() !== '' ? { bug } : {}),
  };
}

function parseCases(
  problems: Problem[],
  path: string,
  value: unknown,
  caseIds: ReadonlySet<string>,
): CaseExpectations {
  const cases = new Map<string, ExpectationEntry[]>();
  if (!isObject(value)) {
    problems.push({ path, message: `must be an object of case IDs, got ${show(value)}` });
    return cases;
  }
  for (const [id, raw] of Object.entries(value)) {
    const at = `${path}${key(id)}`;
    if (!caseIds.has(id)) {
      problems.push({
        path: at,
        message: `must be a case ID of the catalogue (see 'echolot check --list'), got ${show(id)}`,
      });
      continue;
    }
    const list = Array.isArray(raw) ? (raw as unknown[]) : [raw];
    if (list.length === 0) {
      problems.push({ path: at, message: 'must be an entry or a non-empty list of entries, got []' });
      continue;
    }
    const entries = list.map((e, i) => parseEntry(problems, Array.isArray(raw) ? `${at}[${i}]` : at, e));
    if (entries.every((e) => e !== undefined)) cases.set(id, entries);
  }
  return cases;
}

/**
 * Parses and validates an expectations file. Every problem names the field path, the rule and the
 * value; all of them go into one one-line usage error (exit 64) that starts with `source`. Case IDs
 * must be among `caseIds` (the catalogue's).
 */
export function parseExpectations(text: string, source: string, caseIds: ReadonlySet<string>): Expectations {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new HarnessError('ERR_ECHOLOT_EXPECTATIONS', `${source}: not valid JSON: ${why}`, { cause: err });
  }
  const problems: Problem[] = [];
  if (!isObject(doc)) {
    throw new HarnessError(
      'ERR_ECHOLOT_EXPECTATIONS',
      `${source}: must be a JSON object {"version": 1, "targets": {...}}, got ${show(doc)}`,
    );
  }
  unknownFields(problems, '', doc, ['version', 'targets', 'default']);
  if (doc['version'] !== EXPECTATIONS_VERSION) {
    problems.push({
      path: 'version',
      message: `must be ${EXPECTATIONS_VERSION}, got ${show(doc['version'])}`,
    });
  }
  const targets = new Map<string, CaseExpectations>();
  const rawTargets = doc['targets'] ?? {};
  if (!isObject(rawTargets)) {
    problems.push({ path: 'targets', message: `must be an object of target keys, got ${show(rawTargets)}` });
  } else {
    for (const [target, cases] of Object.entries(rawTargets)) {
      if (target.trim() === '') {
        problems.push({ path: `targets${key(target)}`, message: 'must be HOST:PORT or "embedded", got ""' });
        continue;
      }
      targets.set(target, parseCases(problems, `targets${key(target)}`, cases, caseIds));
    }
  }
  const defaults =
    doc['default'] === undefined ? undefined : parseCases(problems, 'default', doc['default'], caseIds);
  if (problems.length > 0) {
    throw new HarnessError(
      'ERR_ECHOLOT_EXPECTATIONS',
      `${source}: ${problems.map((p) => `${p.path.replace(/^\./, '')}: ${p.message}`).join('; ')}`,
    );
  }
  return { version: EXPECTATIONS_VERSION, targets, ...(defaults ? { default: defaults } : {}) };
}

/**
 * Reads and validates an expectations file. A missing file is a usage error (exit 64) unless
 * `missingOk`, which returns undefined (--update-expectations creates the file).
 */
export async function loadExpectations(
  file: string,
  option: string,
  caseIds: ReadonlySet<string>,
  missingOk = false,
): Promise<Expectations | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const errno = errnoOf(err);
    if (errno === 'ENOENT' && missingOk) return undefined;
    if (errno === 'ENOENT' || errno === 'EISDIR') {
      throw new HarnessError(
        'ERR_ECHOLOT_EXPECTATIONS',
        `${option} ${file}: ${errno === 'ENOENT' ? 'no such file' : 'is a directory, not a file'}`,
        { cause: err },
      );
    }
    throw new HarnessError('ERR_ECHOLOT_IO', `${option} ${file}: cannot read (${errno ?? 'error'})`, {
      cause: err,
    });
  }
  return parseExpectations(text, `${option} ${file}`, caseIds);
}

/** The conditions of a run that entries are matched against. */
export function conditionContext(run: RunInfo): ConditionContext {
  return { os: run.platform.os, family: run.target.family, privileged: run.platform.privileged };
}

/** The keys a run's target is looked up under, best first: `embedded`, or the target as given and its ADDRESS:PORT. */
export function targetKeys(run: RunInfo): string[] {
  if (run.target.embedded) return [EMBEDDED_KEY];
  return [...new Set([run.target.input, formatEndpoint(run.target.address, run.target.port)])];
}

/** True when every condition of the entry holds in this run. */
export function conditionsHold(
  conditions: ExpectationConditions | undefined,
  ctx: ConditionContext,
): boolean {
  if (!conditions) return true;
  const os = conditions.os === undefined ? undefined : ([] as string[]).concat(conditions.os);
  return (
    (os === undefined || os.includes(ctx.os)) &&
    (conditions.family === undefined || conditions.family === ctx.family) &&
    (conditions.privileged === undefined || conditions.privileged === ctx.privileged)
  );
}

const applicable = (
  entries: readonly ExpectationEntry[] | undefined,
  ctx: ConditionContext,
): ExpectationEntry | undefined => entries?.find((e) => conditionsHold(e.if, ctx));

/** The key of the file's entries for this run's target, or undefined when the file has none. */
export function matchingTargetKey(expectations: Expectations | undefined, run: RunInfo): string | undefined {
  return targetKeys(run).find((k) => expectations?.targets.has(k));
}

/** What is expected of one case: the target's applicable entry, else the default section's, else any non-failing verdict. */
export function expectationFor(
  expectations: Expectations | undefined,
  targetKey: string | undefined,
  id: string,
  ctx: ConditionContext,
): { expected: readonly Verdict[]; from: ExpectationSource; bug?: string } {
  const own =
    targetKey === undefined ? undefined : applicable(expectations?.targets.get(targetKey)?.get(id), ctx);
  const found = own ?? applicable(expectations?.default?.get(id), ctx);
  if (!found) return { expected: UNLISTED_EXPECTED, from: 'unlisted' };
  return {
    expected: found.expected,
    from: own ? 'target' : 'default',
    ...(found.bug ? { bug: found.bug } : {}),
  };
}

/** Each case's verdict next to its expectation (no file: every case is unlisted). */
export function evaluateExpectations(
  expectations: Expectations | undefined,
  run: RunInfo,
  cases: readonly { readonly id: string; readonly verdict: Verdict }[],
): CaseExpectation[] {
  const ctx = conditionContext(run);
  const targetKey = matchingTargetKey(expectations, run);
  return cases.map((c) => {
    const e = expectationFor(expectations, targetKey, c.id, ctx);
    const status = classify(c.verdict, e.expected);
    return {
      id: c.id,
      verdict: c.verdict,
      expected: e.expected,
      status,
      unexpected: status !== 'expected',
      from: e.from,
      ...(e.bug ? { bug: e.bug } : {}),
    };
  });
}

/**
 * Merges one run into an expectations file (pure): for each case of the run, under the run's
 * target key, an entry that still matches is kept as it is (conditions and bug link included); a
 * FAIL or NON-STRICT verdict that nothing expects is written down (an existing applicable entry
 * keeps its conditions and bug link and gets the new verdict); an entry whose case now draws a
 * verdict an unlisted case may have is removed. ERROR verdicts change nothing (a harness fault says
 * nothing about the target). Cases not run, other targets and the default section stay untouched.
 */
export function updateExpectations(
  existing: Expectations | undefined,
  run: RunInfo,
  cases: readonly { readonly id: string; readonly verdict: Verdict }[],
): { expectations: Expectations; key: string; changes: ExpectationChange[] } {
  const ctx = conditionContext(run);
  const targetKey = matchingTargetKey(existing, run) ?? targetKeys(run)[0] ?? EMBEDDED_KEY;
  const own = new Map(existing?.targets.get(targetKey) ?? []);
  const changes: ExpectationChange[] = [];
  for (const { id, verdict } of cases) {
    if (verdict === 'ERROR') continue;
    const entries = [...(own.get(id) ?? [])];
    const index = entries.findIndex((e) => conditionsHold(e.if, ctx));
    const fallback = expectationFor(existing, undefined, id, ctx);
    const recorded = RECORDED_VERDICTS.includes(verdict);
    const entry = entries[index];
    if (entry) {
      if (entry.expected.includes(verdict)) continue;
      if (!recorded && fallback.expected.includes(verdict)) {
        entries.splice(index, 1);
        changes.push({ id, kind: 'removed', verdict, before: entry.expected });
      } else {
        entries[index] = { ...entry, expected: [verdict] };
        changes.push({ id, kind: 'changed', verdict, before: entry.expected, after: [verdict] });
      }
    } else {
      const accepted = fallback.expected.includes(verdict);
      if (accepted && !(recorded && fallback.from === 'unlisted')) continue;
      entries.push({ expected: [verdict] });
      changes.push({ id, kind: 'added', verdict, after: [verdict] });
    }
    if (entries.length === 0) own.delete(id);
    else own.set(id, entries);
  }
  const targets = new Map(existing?.targets ?? []);
  if (own.size > 0) targets.set(targetKey, own);
  else targets.delete(targetKey);
  return {
    expectations: {
      version: EXPECTATIONS_VERSION,
      targets,
      ...(existing?.default ? { default: existing.default } : {}),
    },
    key: targetKey,
    changes,
  };
}

const byCaseId = (a: string, b: string): number => {
  const [as = 0, ac = 0] = a.split('.').map(Number);
  const [bs = 0, bc = 0] = b.split('.').map(Number);
  return as - bs || ac - bc;
};

function entryJson(e: ExpectationEntry): Record<string, unknown> {
  return {
    expected: e.expected.length === 1 ? e.expected[0] : [...e.expected],
    ...(e.if ? { if: e.if } : {}),
    ...(e.bug ? { bug: e.bug } : {}),
  };
}

function casesJson(cases: CaseExpectations): Record<string, unknown> {
  return Object.fromEntries(
    [...cases.keys()].sort(byCaseId).map((id) => {
      const entries = cases.get(id) ?? [];
      return [id, entries.length === 1 && entries[0] ? entryJson(entries[0]) : entries.map(entryJson)];
    }),
  );
}

/** The file's text: version, targets in file order, cases in catalogue order, single verdicts as strings. */
export function renderExpectations(expectations: Expectations): string {
  const doc = {
    version: expectations.version,
    targets: Object.fromEntries([...expectations.targets].map(([k, cases]) => [k, casesJson(cases)])),
    ...(expectations.default ? { default: casesJson(expectations.default) } : {}),
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/**
 * Checks before a run that --update-expectations can write `file`: its directory exists and takes new
 * files, and the file, when it exists, is writable. Otherwise ERR_ECHOLOT_IO (exit 74), before any case runs.
 */
export async function checkExpectationsWritable(file: string): Promise<void> {
  const why = await fileProblem(file);
  if (why !== undefined) throw new HarnessError('ERR_ECHOLOT_IO', `--update-expectations ${file}: ${why}`);
}

/** Writes the file through a temporary sibling and a rename, so a reader never sees half a file. */
export async function writeExpectations(file: string, expectations: Expectations): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`;
  try {
    await writeFile(temp, renderExpectations(expectations));
    await rename(temp, file);
  } catch (err) {
    throw new HarnessError(
      'ERR_ECHOLOT_IO',
      `--update-expectations ${file}: cannot write (${errnoOf(err) ?? 'error'})`,
      { cause: err },
    );
  }
}
