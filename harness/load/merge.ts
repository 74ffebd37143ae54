/**
 * `mergeShards`: the shards of one distributed load run (shard.ts) as one LoadResult: histograms
 * decoded and added exactly, counters summed, interval series merged by their absolute time, and a
 * row per shard that says which one lagged, lost or was the bottleneck (docs/load.md "Shards").
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import hdr from 'hdr-histogram-js';
import { HarnessError } from '../errors.js';
import { sumCounters } from './counters.js';
import { IntervalSeries, type IntervalWire } from './intervals.js';
import { LatencyRecorder, type LatencyWire } from './latency.js';
import {
  HISTOGRAM_CONFIG,
  SHARD_FORMAT,
  SHARD_FORMAT_VERSION,
  shardDataError,
  shardHistogram,
  wireOfShardHistogram,
  type ShardDocument,
  type ShardHistogram,
} from './shard.js';
import type { GeneratorHealth, LoadResult } from './types.js';

/** A shard start this much after `--start-at` (or after the earliest shard) is flagged as a late start, ms. */
export const LATE_START_MS = 10;

/** One shard document and where it came from (a file name, for messages). */
export interface ShardInput {
  readonly source: string;
  readonly doc: ShardDocument;
}

/** One shard in the merged report. */
export interface ShardRow {
  readonly index: number;
  readonly source: string;
  readonly host: string;
  /** Its start after `--start-at` (or, without one, after the earliest shard's start), ms. */
  readonly startOffsetMs: number;
  readonly rate: number;
  readonly flows: number;
  readonly sent: number;
  readonly unique: number;
  readonly lost: number;
  /** lost as a percentage of sent (0 when nothing was sent). */
  readonly lossPercent: number;
  readonly late: number;
  readonly echoRate: number;
  readonly responseP99Us: number;
  readonly sendLagP99Us: number;
  readonly bottleneck: boolean;
  readonly reasons: readonly string[];
  /** What stands out: `bottleneck`, `most loss`, `most send lag`, `late start`. */
  readonly flags: readonly string[];
}

/** The shards of a merged run, for the reports. */
export interface ShardsSection {
  readonly runId: string;
  readonly count: number;
  readonly present: readonly number[];
  readonly missing: readonly number[];
  /** Merged without every shard (`allowPartial`). */
  readonly partial: boolean;
  /** Latest minus earliest shard start, ms. */
  readonly startSpreadMs: number;
  readonly rows: readonly ShardRow[];
}

/** The merge of a run's shards: the run's LoadResult, its shards, and its merged histograms. */
export interface MergedRun {
  readonly result: LoadResult;
  readonly shards: ShardsSection;
  /** The merged distributions, encoded as the shards' are. */
  readonly histograms: {
    readonly response: ShardHistogram;
    readonly service: ShardHistogram;
    readonly sendLag: ShardHistogram;
  };
}

/** Options of mergeShards. */
export interface MergeOptions {
  /** Merge although shards are missing (the result then says which). @defaultValue false */
  readonly allowPartial?: boolean;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Checks a parsed shard document's shape; a problem is ERR_ECHOLOT_DATA naming the file and the field. */
function checkShape(v: unknown, source: string): ShardDocument {
  if (!isObject(v)) throw shardDataError(source, 'not an echolot load shard (not a JSON object)');
  if (v['format'] !== SHARD_FORMAT) {
    throw shardDataError(
      source,
      `not an echolot load shard (format ${JSON.stringify(v['format'] ?? null)}, expected "${SHARD_FORMAT}")`,
    );
  }
  if (v['version'] !== SHARD_FORMAT_VERSION) {
    throw shardDataError(
      source,
      `shard format version ${JSON.stringify(v['version'] ?? null)} is not supported (this echolot reads version ${SHARD_FORMAT_VERSION})`,
    );
  }
  const at = (path: string): unknown =>
    path.split('.').reduce<unknown>((o, k) => (isObject(o) ? o[k] : undefined), v);
  const need = (path: string, ok: (x: unknown) => boolean, what: string): void => {
    const x = at(path);
    if (!ok(x)) throw shardDataError(source, `${path} ${JSON.stringify(x ?? null)}: must be ${what}`);
  };
  need('runId', (x) => typeof x === 'string' && x !== '', 'a run id');
  need('shard.count', (x) => Number.isInteger(x) && (x as number) >= 1, 'an integer of at least 1');
  need(
    'shard.index',
    (x) => Number.isInteger(x) && (x as number) >= 0 && (x as number) < (at('shard.count') as number),
    'an integer below shard.count',
  );
  need('target.input', (x) => typeof x === 'string', 'the target');
  need('mode', (x) => typeof x === 'string', 'a load mode');
  for (const k of ['plan', 'options', 'histogram', 'generator', 'lossAttribution', 'counters', 'jitter']) {
    need(k, isObject, 'an object');
  }
  for (const k of [
    'sent',
    'received',
    'unique',
    'lost',
    'late',
    'duplicates',
    'reordered',
    'reorderExtentMax',
  ]) {
    need(`counters.${k}`, isNumber, 'a number');
  }
  for (const k of ['corrupted', 'truncated', 'foreign', 'icmpErrors'])
    need(`counters.${k}`, isNumber, 'a number');
  need('perFlow', Array.isArray, 'a list of counters');
  for (const k of [
    'startOffsetMs',
    't0EpochMs',
    'measureStartEpochMs',
    'durationMs',
    'jitter.sum',
    'jitter.samples',
    'intervals.intervalMs',
  ]) {
    need(k, isNumber, 'a number');
  }
  const histogram = (path: string): void => {
    need(`${path}.encoded`, (x) => typeof x === 'string' && x !== '', 'an encoded HDR histogram');
    for (const k of ['count', 'min', 'max', 'sum', 'sumOfSquares'])
      need(`${path}.${k}`, isNumber, 'a number');
  };
  for (const k of ['response', 'service', 'sendLag']) histogram(`histograms.${k}`);
  need('intervals.buckets', Array.isArray, 'a list of intervals');
  (at('intervals.buckets') as unknown[]).forEach((b, i) => {
    const p = `intervals.buckets[${i}]`;
    if (!isObject(b)) throw shardDataError(source, `${p}: must be an object`);
    for (const k of ['atEpochMs', 'sent', 'received', 'unique']) {
      if (!isNumber(b[k]))
        throw shardDataError(source, `${p}.${k} ${JSON.stringify(b[k] ?? null)}: must be a number`);
    }
    const l = b['latency'];
    if (!isObject(l) || typeof l['encoded'] !== 'string' || !isNumber(l['count'])) {
      throw shardDataError(source, `${p}.latency: must be a histogram`);
    }
  });
  return v as unknown as ShardDocument;
}

/** Parses one shard document (the text of a `--out` file); ERR_ECHOLOT_DATA when it is not one. */
export function parseShardDocument(text: string, source: string): ShardDocument {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw shardDataError(source, `not JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  return checkShape(v, source);
}

/**
 * Reads shard documents: each FILE, and in each DIR every `*.json` file that is a shard document
 * (others are skipped). A file that cannot be read is ERR_ECHOLOT_IO, one that is no shard document
 * ERR_ECHOLOT_DATA; a directory without shards is ERR_ECHOLOT_DATA too.
 */
export async function readShardFiles(paths: readonly string[]): Promise<ShardInput[]> {
  const out: ShardInput[] = [];
  const read = async (path: string): Promise<string> => {
    try {
      return await readFile(path, 'utf8');
    } catch (err) {
      throw new HarnessError('ERR_ECHOLOT_IO', `${path}: cannot read it (${(err as Error).message})`, {
        cause: err,
      });
    }
  };
  for (const path of paths) {
    let isDir: boolean;
    try {
      isDir = (await stat(path)).isDirectory();
    } catch (err) {
      throw new HarnessError('ERR_ECHOLOT_IO', `${path}: cannot read it (${(err as Error).message})`, {
        cause: err,
      });
    }
    if (!isDir) {
      out.push({ source: path, doc: parseShardDocument(await read(path), path) });
      continue;
    }
    const names = (await readdir(path)).filter((n) => n.endsWith('.json')).sort();
    let found = 0;
    for (const n of names) {
      const file = join(path, n);
      const text = await read(file);
      let v: unknown;
      try {
        v = JSON.parse(text);
      } catch {
        continue;
      }
      if (!isObject(v) || v['format'] !== SHARD_FORMAT) continue;
      out.push({ source: file, doc: checkShape(v, file) });
      found++;
    }
    if (found === 0)
      throw shardDataError(
        path,
        `no shard document (*.json with format "${SHARD_FORMAT}") in this directory`,
      );
  }
  return out;
}

/** Decodes a shard histogram and checks it against its declared count and the run's settings. */
function checkedWire(h: ShardHistogram, digits: number, source: string, field: string): LatencyWire {
  let decoded;
  try {
    decoded = hdr.decodeFromCompressedBase64(h.encoded);
  } catch (err) {
    throw shardDataError(source, `${field}: not an HDR histogram (${(err as Error).message})`);
  }
  try {
    if (decoded.numberOfSignificantValueDigits !== digits) {
      throw shardDataError(
        source,
        `${field}: histogram of ${decoded.numberOfSignificantValueDigits} significant digits, the run's have ${digits}`,
      );
    }
    if (decoded.totalCount !== h.count) {
      throw shardDataError(
        source,
        `${field}: the histogram holds ${decoded.totalCount} values, count says ${h.count}`,
      );
    }
  } finally {
    decoded.destroy();
  }
  return wireOfShardHistogram(h);
}

/** The plan fields every shard of one run must agree on. */
const PLAN_FIELDS = [
  'mode',
  'durationMs',
  'warmupMs',
  'rate',
  'arrival',
  'sizes',
  'flows',
  'window',
  'drainMs',
  'intervalMs',
] as const;

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** Refuses shards that are not of one run: ERR_ECHOLOT_DATA naming both files and what differs. */
function checkOneRun(inputs: readonly ShardInput[]): void {
  const [first, ...rest] = inputs;
  if (first === undefined) throw new HarnessError('ERR_ECHOLOT_USAGE', 'merge needs at least one shard file');
  const f = first.doc;
  const differ = (other: ShardInput, what: string, a: unknown, b: unknown): HarnessError =>
    new HarnessError(
      'ERR_ECHOLOT_DATA',
      `${other.source} is not a shard of the same run as ${first.source}: ${what} ${JSON.stringify(b)} there, ${JSON.stringify(a)} here`,
    );
  for (const s of rest) {
    const d = s.doc;
    if (d.runId !== f.runId) throw differ(s, 'run id', d.runId, f.runId);
    if (d.shard.count !== f.shard.count) throw differ(s, 'shard count', d.shard.count, f.shard.count);
    if (d.target.input !== f.target.input || d.target.port !== f.target.port) {
      throw differ(s, 'target', `${d.target.input}`, `${f.target.input}`);
    }
    if (!same(d.histogram, f.histogram)) {
      throw new HarnessError(
        'ERR_ECHOLOT_DATA',
        `${s.source} and ${first.source} have different histogram settings (${JSON.stringify(d.histogram)} vs ${JSON.stringify(f.histogram)}): their histograms cannot be added`,
      );
    }
    for (const k of PLAN_FIELDS) {
      if (!same(d.plan[k], f.plan[k])) throw differ(s, `option ${k}`, d.plan[k], f.plan[k]);
    }
  }
  if (!same(f.histogram, HISTOGRAM_CONFIG)) {
    throw new HarnessError(
      'ERR_ECHOLOT_DATA',
      `${first.source}: histogram settings ${JSON.stringify(f.histogram)} are not this echolot's (${JSON.stringify(HISTOGRAM_CONFIG)})`,
    );
  }
  const seen = new Map<number, string>();
  for (const s of inputs) {
    const prior = seen.get(s.doc.shard.index);
    if (prior !== undefined) {
      throw new HarnessError(
        'ERR_ECHOLOT_DATA',
        `shard ${s.doc.shard.index} of run ${f.runId} twice: ${prior} and ${s.source}`,
      );
    }
    seen.set(s.doc.shard.index, s.source);
  }
}

/** The shard indexes of a run of `count` shards that are not in `present`. */
export function missingShards(count: number, present: readonly number[]): number[] {
  const have = new Set(present);
  return Array.from({ length: count }, (_, i) => i).filter((i) => !have.has(i));
}

/** Significant digits a LatencyRecorder takes. */
type Digits = 1 | 2 | 3 | 4 | 5;

const round1 = (x: number): number => Math.round(x * 10) / 10;

/**
 * Merges the shards of one run. Refuses (ERR_ECHOLOT_DATA) shards of different runs, targets,
 * options or histogram settings and a shard given twice; missing shards are
 * ERR_ECHOLOT_SHARDS_MISSING unless `allowPartial`, and are then listed in `shards.missing`.
 */
export function mergeShards(inputs: readonly ShardInput[], options: MergeOptions = {}): MergedRun {
  checkOneRun(inputs);
  const sorted = [...inputs].sort((a, b) => a.doc.shard.index - b.doc.shard.index);
  const f = (sorted[0] as ShardInput).doc;
  const present = sorted.map((s) => s.doc.shard.index);
  const missing = missingShards(f.shard.count, present);
  if (missing.length > 0 && options.allowPartial !== true)
    throw missingError(f.runId, f.shard.count, missing);

  const digits = HISTOGRAM_CONFIG.significantDigits as Digits;
  const intervalDigits = HISTOGRAM_CONFIG.intervalSignificantDigits as Digits;
  const recorder = (): LatencyRecorder => new LatencyRecorder(digits);
  const merged = { response: recorder(), service: recorder(), sendLag: recorder() };
  const origin = Math.min(...sorted.map((s) => s.doc.measureStartEpochMs));
  const intervalMs = f.plan.intervalMs;
  const series = new IntervalSeries(intervalMs, f.plan.durationMs);
  const rowsBase: Omit<ShardRow, 'flags'>[] = [];
  for (const { source, doc } of sorted) {
    const own = { response: recorder(), sendLag: recorder() };
    for (const k of ['response', 'service', 'sendLag'] as const) {
      const w = checkedWire(doc.histograms[k], digits, source, `histograms.${k}`);
      merged[k].addWire(w);
      if (k !== 'service') own[k].addWire(w);
    }
    // Each interval goes to the merged bucket of its absolute start time.
    const wire: { sent: number[]; received: number[]; unique: number[]; latency: LatencyWire[] } = {
      sent: [],
      received: [],
      unique: [],
      latency: [],
    };
    doc.intervals.buckets.forEach((b, i) => {
      const at = Math.max(0, Math.round((b.atEpochMs - origin) / intervalMs));
      while (wire.sent.length <= at) {
        wire.sent.push(0);
        wire.received.push(0);
        wire.unique.push(0);
        wire.latency.push(
          wireOfShardHistogram({ encoded: '', count: 0, min: 0, max: 0, sum: 0, sumOfSquares: 0 }),
        );
      }
      wire.sent[at] = (wire.sent[at] ?? 0) + b.sent;
      wire.received[at] = (wire.received[at] ?? 0) + b.received;
      wire.unique[at] = (wire.unique[at] ?? 0) + b.unique;
      const l = checkedWire(b.latency, intervalDigits, source, `intervals.buckets[${i}].latency`);
      const r = new LatencyRecorder(intervalDigits);
      r.addWire(wire.latency[at] as LatencyWire);
      r.addWire(l);
      wire.latency[at] = r.toWire();
    });
    series.addWire(wire satisfies IntervalWire);
    const c = doc.counters;
    rowsBase.push({
      index: doc.shard.index,
      source,
      host: doc.host,
      startOffsetMs:
        doc.startAtEpochMs === null
          ? Math.round((doc.t0EpochMs - Math.min(...sorted.map((s) => s.doc.t0EpochMs))) * 1000) / 1000
          : doc.startOffsetMs,
      rate: doc.options.rate,
      flows: doc.options.flows,
      sent: c.sent,
      unique: c.unique,
      lost: c.lost,
      lossPercent: c.sent === 0 ? 0 : (100 * c.lost) / c.sent,
      late: c.late,
      echoRate: doc.rates.echoes,
      responseP99Us: own.response.summary().p99,
      sendLagP99Us: own.sendLag.summary().p99,
      bottleneck: doc.generator.bottleneck,
      reasons: doc.generator.reasons,
    });
  }
  const rows = flagRows(rowsBase);
  const docs = sorted.map((s) => s.doc);
  const perFlow = docs.flatMap((d) => d.perFlow);
  const counters = sumCounters(docs.map((d) => d.counters));
  const durS = f.plan.durationMs / 1000;
  const jitterSum = docs.reduce((a, d) => a + d.jitter.sum, 0);
  const jitterN = docs.reduce((a, d) => a + d.jitter.samples, 0);
  const prefixed = (i: number, texts: readonly string[]): string[] => texts.map((t) => `shard ${i}: ${t}`);
  const reasons = docs.flatMap((d) => prefixed(d.shard.index, d.generator.reasons));
  const elus = docs.map((d) => d.generator.eventLoopUtilization ?? 0);
  const generator: GeneratorHealth = {
    eventLoopUtilization: Math.max(...elus),
    socketDrops: docs.reduce((a, d) => a + d.generator.socketDrops, 0),
    rcvbufErrors: docs.reduce((a, d) => a + d.generator.rcvbufErrors, 0),
    sndbufErrors: docs.reduce((a, d) => a + d.generator.sndbufErrors, 0),
    bottleneck: docs.some((d) => d.generator.bottleneck),
    reasons,
  };
  const lossGenerator = docs.reduce((a, d) => a + d.lossAttribution.generator, 0);
  const notes = docs.flatMap((d) =>
    d.lossAttribution.note === undefined ? [] : prefixed(d.shard.index, [d.lossAttribution.note]),
  );
  const offered =
    f.mode === 'rate'
      ? missing.length === 0
        ? f.plan.rate
        : round1(docs.reduce((a, d) => a + d.options.rate, 0))
      : round1(counters.sent / durS);
  const earliest = docs.reduce((a, d) => (d.measureStartEpochMs < a.measureStartEpochMs ? d : a));
  const ioPaths = [...new Set(docs.map((d) => d.ioPath))];
  const result: LoadResult = {
    runId: f.runId,
    target: f.target,
    mode: f.mode,
    options: { ...f.plan, workers: Math.max(...docs.map((d) => d.options.workers)) },
    startedAt: earliest.startedAt,
    durationMs: f.plan.durationMs,
    counters,
    perFlow,
    rates: { offered, echoes: round1(counters.unique / durS), sent: round1(counters.sent / durS) },
    response: merged.response.summary(),
    service: merged.service.summary(),
    sendLag: merged.sendLag.summary(),
    jitterUs: jitterN === 0 ? 0 : round1(jitterSum / jitterN),
    intervals: series.all(),
    generator,
    lossAttribution: {
      generator: lossGenerator,
      networkOrServer: counters.lost - lossGenerator,
      ...(notes.length === 0 ? {} : { note: notes.join('; ') }),
    },
    ioPath: ioPaths.join('; '),
  };
  const t0s = docs.map((d) => d.t0EpochMs);
  return {
    result,
    shards: {
      runId: f.runId,
      count: f.shard.count,
      present,
      missing,
      partial: missing.length > 0,
      startSpreadMs: Math.round((Math.max(...t0s) - Math.min(...t0s)) * 1000) / 1000,
      rows,
    },
    histograms: {
      response: shardHistogram(merged.response.toWire(), digits),
      service: shardHistogram(merged.service.toWire(), digits),
      sendLag: shardHistogram(merged.sendLag.toWire(), digits),
    },
  };
}

/** The error of a run merged without all its shards: which are missing (ERR_ECHOLOT_SHARDS_MISSING, exit 1). */
function missingError(runId: string, count: number, missing: readonly number[]): HarnessError {
  const which = missing.length === 1 ? `shard ${missing[0]}` : `shards ${missing.join(', ')}`;
  return new HarnessError(
    'ERR_ECHOLOT_SHARDS_MISSING',
    `run ${runId}: ${which} of ${count} missing (allowPartial merges the others)`,
  );
}

/** Marks what stands out: the bottlenecks, the shard that lost most, lagged most, or started late. */
function flagRows(rows: readonly Omit<ShardRow, 'flags'>[]): ShardRow[] {
  const maxLost = Math.max(...rows.map((r) => r.lossPercent));
  const maxLag = Math.max(...rows.map((r) => r.sendLagP99Us));
  return rows.map((r) => {
    const flags: string[] = [];
    if (r.bottleneck) flags.push('bottleneck');
    if (rows.length > 1 && maxLost > 0 && r.lossPercent === maxLost) flags.push('most loss');
    if (rows.length > 1 && maxLag > 0 && r.sendLagP99Us === maxLag) flags.push('most send lag');
    if (r.startOffsetMs > LATE_START_MS) flags.push('late start');
    return { ...r, flags };
  });
}
