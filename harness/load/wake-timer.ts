/**
 * A precise wake-up without a busy loop: a helper thread sleeps in Atomics.wait (a futex with a
 * sub-millisecond timeout) and wakes the requesting thread's event loop with a message. Node's own
 * timers have 1 ms granularity, so without this the pacer would have to poll (setImmediate) for the
 * last millisecond before every send, which keeps a core busy at any rate above a few hundred per
 * second and takes CPU from a server under test on the same machine.
 */
import { Worker } from 'node:worker_threads';

/** The helper thread: waits for a request (slot 0 = 1, deadline in ms since its timeOrigin... as epoch ms in the Float64 slot), sleeps until it, posts, repeats. */
const HELPER = `
const { parentPort, workerData } = require('node:worker_threads');
const flag = new Int32Array(workerData, 0, 2);
const when = new Float64Array(workerData, 8, 1);
for (;;) {
  Atomics.wait(flag, 0, 0);
  if (Atomics.load(flag, 1) === 1) break;
  const ms = when[0] - (performance.timeOrigin + performance.now());
  if (ms > 0) Atomics.wait(flag, 1, 0, ms);
  if (Atomics.load(flag, 1) === 1) break;
  Atomics.store(flag, 0, 0);
  parentPort.postMessage(0);
}
`;

/** One helper thread that wakes its owner at requested times, one request at a time. */
export class WakeTimer {
  private readonly shared = new SharedArrayBuffer(16);
  private readonly flag = new Int32Array(this.shared, 0, 2);
  private readonly when = new Float64Array(this.shared, 8, 1);
  private readonly worker: Worker;
  private pending: (() => void) | undefined;

  constructor() {
    this.worker = new Worker(HELPER, { eval: true, workerData: this.shared });
    this.worker.unref();
    this.worker.on('message', () => {
      const cb = this.pending;
      this.pending = undefined;
      cb?.();
    });
  }

  /** Calls `cb` once, as soon after `epochMs` (performance.timeOrigin + performance.now() scale) as the helper can. */
  wakeAt(epochMs: number, cb: () => void): void {
    this.pending = cb;
    this.when[0] = epochMs;
    Atomics.store(this.flag, 0, 1);
    Atomics.notify(this.flag, 0);
  }

  /** Stops the helper thread. */
  async close(): Promise<void> {
    Atomics.store(this.flag, 1, 1);
    Atomics.store(this.flag, 0, 1);
    Atomics.notify(this.flag, 0);
    Atomics.notify(this.flag, 1);
    this.pending = undefined;
    await this.worker.terminate();
  }
}
