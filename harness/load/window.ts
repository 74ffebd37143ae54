/**
 * Closed-loop drivers (flood and ping-pong): each flow keeps up to `window` probes outstanding and
 * sends the next one as soon as a slot frees. A probe unanswered for `expireNs` frees its slot, so
 * loss cannot starve the window (its answer still counts if it arrives later). On the native path the
 * loop itself runs in C (Flow.startWindow) and the driver only ticks it: expiry and top-ups after a
 * quiet spell; on the data plane (NativePlane) its thread does those too, and the driver only hands on
 * the sockets' errors and a cut-short end.
 */
import { clockNs } from './clock.js';
import type { NativePlane } from '../net/native-client.js';
import type { Flow } from './flows.js';

/** How often the driver expires old probes and refills windows, ms. */
const HOUSEKEEPING_MS = 2;

/** How often the driver hands on the data plane's errors and a cut-short end (its thread does the rest), ms. */
const PLANE_TICK_MS = 10;

/** Keeps every flow's window full until the end time. */
export class WindowDriver {
  private running = false;

  constructor(
    private readonly flows: readonly Flow[],
    private readonly window: number,
    private readonly expireNs: number,
    /** Sending ends at this clockNs (read on every tick: a run may be cut short). */
    private readonly endNs: () => number,
    /**
     * Sends one probe on the flow, stamped `nowNs` (the engine counts it and pushes it on the flow's
     * pending list).
     */
    private readonly sendOne: (flow: Flow, nowNs: number) => void,
    private readonly onTick?: () => void,
    /** Native window mode: the flows' loops run in C; a tick's top-up of `count` probes sent at `atNs`. */
    private readonly nativeSent?: (flow: Flow, count: number, atNs: number) => void,
    /** The data plane running the flows' native loops on its own thread. */
    private readonly plane?: NativePlane,
  ) {}

  /** Tops up one flow's window (called after every freed slot). */
  fill(flow: Flow): void {
    // One clock read per top-up, not per probe: a top-up is at most `window` sends, handed to the kernel
    // together (one sendmmsg on the native path), so they share one send time.
    if (!this.running || flow.inflight >= this.window) return;
    const now = clockNs();
    if (now >= this.endNs()) return;
    while (flow.inflight < this.window) this.sendOne(flow, now);
  }

  private expire(flow: Flow, now: number): void {
    const c = flow.counters;
    while (flow.pendingHead < flow.pendingSeq.length) {
      const seq = flow.pendingSeq[flow.pendingHead] as number;
      if (!c.isReleased(seq)) {
        if ((flow.pendingAtNs[flow.pendingHead] as number) + this.expireNs > now) break;
        c.release(seq);
        flow.inflight--;
      }
      flow.pendingHead++;
    }
    if (flow.pendingHead > 4096 && flow.pendingHead * 2 > flow.pendingSeq.length) {
      flow.pendingSeq.splice(0, flow.pendingHead);
      flow.pendingAtNs.splice(0, flow.pendingHead);
      flow.pendingHead = 0;
    }
  }

  /** Runs until the end time; resolves when sending stopped. */
  run(): Promise<void> {
    this.running = true;
    return new Promise((resolve) => {
      const tick = (): void => {
        this.onTick?.();
        const now = clockNs();
        const endNs = this.endNs();
        if (now >= endNs) {
          this.running = false;
          resolve();
          return;
        }
        const nativeSent = this.nativeSent;
        if (this.plane !== undefined) {
          this.plane.poll();
          this.plane.cut(endNs);
        } else {
          for (const f of this.flows) {
            if (nativeSent !== undefined) {
              const t = f.windowTick();
              if (t.sent > 0) nativeSent(f, t.sent, t.atNs);
              continue;
            }
            this.expire(f, now);
            this.fill(f);
          }
        }
        const every = this.plane === undefined ? HOUSEKEEPING_MS : PLANE_TICK_MS;
        setTimeout(tick, Math.min(every, Math.max(0, Math.ceil((endNs - now) / 1e6))));
      };
      tick();
    });
  }
}
