/** `runLoad`: one load run against a target (or the reference server in a child process), LOAD.md. */
import { randomBytes } from 'node:crypto';
import { ownsTarget } from '../target/ownership.js';
import { routeMtu } from '../testhost/route.js';
import { acquireTarget } from '../target/acquire.js';
import { DEFAULT_PREFLIGHT } from '../target/preflight.js';
import { assemble } from './assemble.js';
import { flowIoPath } from './flows.js';
import { snapshotProc, type ProcSnapshot } from './generator-health.js';
import {
  checkLoadSafety,
  checkSizesForFamily,
  resolveLoadOptions,
  type LoadInternals,
  type ResolvedLoadOptions,
} from './options.js';
import { measureShare, shareOf, type EngineTarget, type ShareOutcome } from './share.js';
import type { LoadOptions, LoadResult } from './types.js';
import { measureWithWorkers } from './workers.js';
import { interruptReason } from '../core/exit-signal.js';
import { rawOf, type DetailedLoad } from './raw.js';
import { startInstant } from './start-at.js';

export {
  resolveLoadOptions,
  LOAD_DEFAULTS,
  SAFE_RATE_CAP,
  SAFE_BYTE_CAP,
  byteRateText,
  type LoadInternals,
} from './options.js';
// Where the engine's parts live now; the names stay importable from here.
export { SATURATED_ELU } from './assemble.js';
export {
  measureShare,
  shareOf,
  shareToWire,
  type EngineTarget,
  type ShareOptions,
  type ShareOutcome,
  type ShareSpec,
  type ShareSync,
  type ShareWire,
} from './share.js';
export type { DetailedLoad, LoadRaw } from './raw.js';
export { ioPathOfWorkers, type MainMessage, type WorkerInput, type WorkerMessage } from './workers.js';

/**
 * Runs one load test; usage problems throw ERR_ECHOLOT_USAGE before any traffic, a given target
 * that does not answer the preflight ERR_ECHOLOT_UNREACHABLE (unless `preflight: false`). When
 * `options.signal` aborts, the run ends early with what it measured (LoadResult.interrupted).
 */
export async function runLoad(options: LoadOptions = {}, internals: LoadInternals = {}): Promise<LoadResult> {
  return (await runLoadDetailed(options, internals)).result;
}

/** runLoad, also returning the raw histograms and series (the shards of a distributed run write them). */
export async function runLoadDetailed(
  options: LoadOptions = {},
  internals: LoadInternals = {},
): Promise<DetailedLoad> {
  const resolved = resolveLoadOptions(options);
  const acquired = await acquireTarget(resolved.target, {
    embedded: 'child',
    // The embedded server is known to answer; a given target gets the preflight `check` runs.
    ...(resolved.target === undefined || options.preflight === false ? {} : { preflight: DEFAULT_PREFLIGHT }),
    admit: async (t) => {
      checkSizesForFamily(resolved, t.family);
      // Fragments count against the cap: the route's MTU says how many a datagram makes (no traffic).
      const mtu =
        resolved.mode === 'rate' && !ownsTarget(t, resolved.ownTarget)
          ? (await routeMtu(t.address))?.mtu
          : undefined;
      // A shard is one part of a run: the cap judges the whole run's rate.
      checkLoadSafety(
        internals.safetyRate === undefined ? resolved : { ...resolved, rate: internals.safetyRate },
        t,
        mtu,
      );
    },
  });
  try {
    const t = acquired.target;
    const target: EngineTarget = {
      input: t.embedded ? 'embedded' : t.input,
      address: t.address,
      port: t.port,
      family: t.family,
      embedded: t.embedded,
    };
    const detailed = await (resolved.workers > 1
      ? measureWithWorkers(resolved, target, internals)
      : measureInProcess(resolved, target, internals));
    return resolved.signal?.aborted === true
      ? { ...detailed, result: { ...detailed.result, interrupted: interruptReason(resolved.signal) } }
      : detailed;
  } finally {
    await acquired.close();
  }
}

/** Runs the whole load in this thread (`--workers 1`). */
async function measureInProcess(
  o: ResolvedLoadOptions,
  target: EngineTarget,
  internals: LoadInternals,
): Promise<DetailedLoad> {
  const runIdBytes = randomBytes(8);
  let before: ProcSnapshot | undefined;
  let after: ProcSnapshot | undefined;
  let ports = new Set<number>();
  let startedAt = '';
  let outcome: ShareOutcome | undefined;
  let t0EpochMs = 0;
  await measureShare(
    o,
    target,
    runIdBytes,
    shareOf(o.flows, 0, 1),
    internals,
    {
      start: async (p) => {
        ports = new Set(p);
        const start = await startInstant(internals.startAtEpochMs, 1);
        before = snapshotProc(ports, target.port);
        startedAt = new Date().toISOString();
        t0EpochMs = start.t0EpochMs;
        return start.t0Ns;
      },
      finished: (out) => {
        after = snapshotProc(ports, target.port);
        outcome = out;
        return Promise.resolve();
      },
    },
    o.onInterval,
    o.signal,
  );
  if (!outcome || !before || !after) throw new Error('the load engine finished without an outcome');
  const result = assemble(
    o,
    target,
    runIdBytes,
    startedAt,
    [outcome],
    before,
    after,
    flowIoPath(o, internals),
  );
  return { result, raw: rawOf(outcome, [outcome], t0EpochMs) };
}
