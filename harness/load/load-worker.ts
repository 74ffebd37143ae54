/** A load worker thread (`--workers N`): runs one share of the flows and of the rate, reports its figures to the main thread. */
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { HarnessError } from '../errors.js';
import { measureShare, shareToWire } from './share.js';
import type { MainMessage, WorkerInput, WorkerMessage } from './workers.js';

const port = parentPort;
if (!port) throw new Error('load-worker.js runs only as a worker thread');
const input = workerData as WorkerInput;
const post = (m: WorkerMessage): void => port.postMessage(m);

/** Resolves with the next message of this type from the main thread. */
const next = <T extends MainMessage['type']>(type: T): Promise<Extract<MainMessage, { type: T }>> =>
  new Promise((resolve) => {
    const on = (m: MainMessage): void => {
      if (m.type !== type) return;
      port.off('message', on);
      resolve(m as Extract<MainMessage, { type: T }>);
    };
    port.on('message', on);
  });

const closing = next('close');
// The main thread's 'stop' (an interruption) cuts this share short.
const stop = new AbortController();
void next('stop').then(() => stop.abort());
try {
  await measureShare(
    input.options,
    input.target,
    input.runId,
    input.share,
    input.internals,
    {
      start: async (ports) => {
        const go = next('go');
        post({ type: 'ready', ports });
        const { t0EpochMs } = await go;
        // performance.timeOrigin is per thread: convert the common start into this thread's clock.
        return Math.round((t0EpochMs - performance.timeOrigin) * 1e6);
      },
      finished: async (outcome) => {
        post({ type: 'done', outcome: shareToWire(outcome) });
        await closing;
      },
    },
    undefined,
    stop.signal,
  );
} catch (err) {
  post({
    type: 'failed',
    message: err instanceof Error ? err.message : String(err),
    ...(err instanceof HarnessError ? { code: err.code } : {}),
  });
}
port.close();
