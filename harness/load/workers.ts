/**
 * The load in worker_threads (`--workers N`): each worker runs one share (load-worker.ts); the main
 * thread starts them together, snapshots /proc around them and merges what they measured.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { HarnessError } from '../errors.js';
import { assemble } from './assemble.js';
import { flowIoPath } from './flows.js';
import { snapshotProc } from './generator-health.js';
import { IntervalSeries } from './intervals.js';
import { LatencyRecorder, type LatencyWire } from './latency.js';
import type { LoadInternals, ResolvedLoadOptions } from './options.js';
import type { Arrival, LoadMode } from './types.js';
import {
  shareOf,
  type EngineTarget,
  type ShareOptions,
  type ShareOutcome,
  type ShareSpec,
  type ShareWire,
} from './share.js';
import { clockNs } from './clock.js';
import { rawOf, type DetailedLoad } from './raw.js';
import { startInstant } from './start-at.js';

/** The I/O path with `--workers N` (LoadResult.ioPath). */
export const ioPathOfWorkers = (
  n: number,
  o: { readonly mode: LoadMode; readonly arrival: Arrival },
  internals: Pick<LoadInternals, 'plane' | 'jsAccounting' | 'stallAtMs'>,
): string => flowIoPath(o, internals).replace(/main thread$/, `${n} worker threads`);

/** Bound on a worker's start-up (flows open, codec warm) and on its exit after the run, ms. */
const WORKER_SETUP_MS = 10_000;

/** Lead time between the main thread's "go" and the common start, so every worker is waiting when it comes, ms. */
const WORKER_LEAD_MS = 50;

/** What a load worker is given (structured-clone-safe). */
export interface WorkerInput {
  readonly options: ShareOptions;
  readonly target: Pick<EngineTarget, 'address' | 'port' | 'family'>;
  readonly runId: Uint8Array;
  readonly share: ShareSpec;
  readonly internals: LoadInternals;
}

/** Messages of the worker protocol: ready -> go -> done -> close -> (exit). */
export type WorkerMessage =
  | { readonly type: 'ready'; readonly ports: readonly number[] }
  | { readonly type: 'done'; readonly outcome: ShareWire }
  | { readonly type: 'failed'; readonly message: string; readonly code?: string };
/** Messages from the main thread to a worker. */
export type MainMessage =
  | { readonly type: 'go'; readonly t0EpochMs: number }
  | { readonly type: 'stop' }
  | { readonly type: 'close' };

/** Resolves when every worker has sent a message of `type` (each worker's first such message), or rejects. */
function collect<T extends WorkerMessage['type']>(
  workers: readonly Worker[],
  type: T,
  timeoutMs: number,
): Promise<Extract<WorkerMessage, { type: T }>[]> {
  return new Promise((resolve, reject) => {
    const got: (Extract<WorkerMessage, { type: T }> | undefined)[] = workers.map(() => undefined);
    let left = workers.length;
    const cleanups: (() => void)[] = [];
    const done = (err?: Error): void => {
      clearTimeout(timer);
      for (const c of cleanups) c();
      if (err) reject(err);
      else resolve(got as Extract<WorkerMessage, { type: T }>[]);
    };
    const timer = setTimeout(
      () => done(new Error(`load workers sent no '${type}' within ${timeoutMs} ms`)),
      timeoutMs,
    );
    workers.forEach((w, i) => {
      const onMessage = (m: WorkerMessage): void => {
        if (m.type === 'failed') {
          done(
            m.code === 'ERR_ECHOLOT_USAGE' || m.code === 'ERR_ECHOLOT_UNREACHABLE'
              ? new HarnessError(m.code, m.message)
              : new Error(`load worker ${i}: ${m.message}`),
          );
          return;
        }
        if (m.type !== type || got[i] !== undefined) return;
        got[i] = m as Extract<WorkerMessage, { type: T }>;
        if (--left === 0) done();
      };
      const onError = (err: Error): void => done(new Error(`load worker ${i}: ${err.message}`));
      const onExit = (code: number): void => {
        if (got[i] === undefined) done(new Error(`load worker ${i} exited (code ${code}) before '${type}'`));
      };
      w.on('message', onMessage);
      w.on('error', onError);
      w.on('exit', onExit);
      cleanups.push(() => {
        w.off('message', onMessage);
        w.off('error', onError);
        w.off('exit', onExit);
      });
    });
  });
}

/** The absolute time now in ms (performance.timeOrigin differs between threads; this does not). */
const epochNowMs = (): number => performance.timeOrigin + performance.now();

/**
 * Runs the load in `o.workers` worker_threads, each with its share of the flows and of the rate; the
 * main thread snapshots /proc around them, starts them together and merges what they measured.
 */
export async function measureWithWorkers(
  o: ResolvedLoadOptions,
  target: EngineTarget,
  internals: LoadInternals,
): Promise<DetailedLoad> {
  const runIdBytes = randomBytes(8);
  const { onInterval, signal, target: _t, ...shareOptions } = o;
  const script = new URL('./load-worker.js', import.meta.url);
  const workers: Worker[] = [];
  try {
    for (let i = 0; i < o.workers; i++) {
      const input: WorkerInput = {
        options: shareOptions,
        target: { address: target.address, port: target.port, family: target.family },
        runId: runIdBytes,
        share: shareOf(o.flows, i, o.workers),
        internals,
      };
      workers.push(new Worker(script, { workerData: input }));
    }
    const ready = await collect(workers, 'ready', WORKER_SETUP_MS);
    const start = await startInstant(internals.startAtEpochMs, WORKER_LEAD_MS);
    const ports = new Set(ready.flatMap((r) => r.ports));
    const before = snapshotProc(ports, target.port);
    const startedAt = new Date().toISOString();
    const finished = collect(
      workers,
      'done',
      WORKER_LEAD_MS + o.warmupMs + o.durationMs + o.drainMs + WORKER_SETUP_MS,
    );
    const go: MainMessage = { type: 'go', t0EpochMs: epochNowMs() + (start.t0Ns - clockNs()) / 1e6 };
    for (const w of workers) w.postMessage(go);
    // An interruption ends every worker's sending at once; each reports what it measured until then.
    const stopAll = (): void => {
      for (const w of workers) w.postMessage({ type: 'stop' } satisfies MainMessage);
    };
    if (signal?.aborted) stopAll();
    else signal?.addEventListener('abort', stopAll, { once: true });
    const done = await finished.finally(() => signal?.removeEventListener('abort', stopAll));
    const after = snapshotProc(ports, target.port);
    const outcomes = done.map((d) => shareFromWire(d.outcome, o));
    const result = assemble(
      o,
      target,
      runIdBytes,
      startedAt,
      outcomes,
      before,
      after,
      ioPathOfWorkers(o.workers, o, internals),
    );
    // Live progress cannot cross threads cheaply: with workers the series is emitted once merged.
    if (onInterval) for (const i of result.intervals) onInterval(i);
    return { result, raw: rawOf(outcomes[0] as ShareOutcome, outcomes, start.t0EpochMs) };
  } finally {
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            const kill = setTimeout(() => void w.terminate(), WORKER_SETUP_MS);
            w.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            w.postMessage({ type: 'close' } satisfies MainMessage);
          }),
      ),
    );
  }
}

/** Rebuilds a share's live objects from its wire form (histograms decoded and added). */
function shareFromWire(w: ShareWire, o: ResolvedLoadOptions): ShareOutcome {
  const rec = (x: LatencyWire): LatencyRecorder => {
    const r = new LatencyRecorder();
    r.addWire(x);
    return r;
  };
  const series = new IntervalSeries(o.intervalMs, o.durationMs);
  series.addWire(w.series);
  return {
    perFlow: w.perFlow,
    jitterSum: w.jitterSum,
    jitterN: w.jitterN,
    sendErrors: w.sendErrors,
    response: rec(w.response),
    service: rec(w.service),
    sendLag: rec(w.sendLag),
    series,
    elu: w.elu,
    pollShare: w.pollShare,
    busiest: w.busiest,
    ...(w.measuredMs === undefined ? {} : { measuredMs: w.measuredMs }),
  };
}
