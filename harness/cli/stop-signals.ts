/**
 * The CLI's one home for signals. What stops `echolot serve`: SIGINT, SIGTERM, SIGHUP, or a stdout
 * that can no longer be written. What interrupts `echolot check` and `echolot load`: the first SIGINT
 * or SIGTERM stops the run cleanly (the reports are written, exit 130 or 143), a second one ends the
 * process at once. This module imports next to nothing, so that main.ts can catch the signals before
 * it loads the rest of echolot: a SIGTERM that arrives while the server is still starting then ends
 * in a clean stop with a summary, not in death by signal.
 */
import { signalExitCode } from '../core/exit-signal.js';

/** The signals that stop the server; each one ends it the same way, with the summary and exit 0. */
export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** Why the server stopped: one of STOP_SIGNALS, or 'stdout' when stdout could not be written. */
export type StopCause = (typeof STOP_SIGNALS)[number] | 'stdout';

/** The stop signals, caught; the first cause wins and later ones are ignored (the server is stopping). */
export interface StopSignals {
  /** The first cause, once there is one. */
  readonly cause: StopCause | undefined;
  /** Settles with the first cause. */
  readonly received: Promise<StopCause>;
  /** Stops for a reason other than a signal. */
  stop(cause: StopCause): void;
  /** Removes the handlers, so nothing outlives the server and later signals act as usual. */
  dispose(): void;
}

/** Installs handlers for STOP_SIGNALS that record the first one instead of ending the process. */
export function catchStopSignals(): StopSignals {
  let cause: StopCause | undefined;
  let settle: (c: StopCause) => void = () => undefined;
  const received = new Promise<StopCause>((resolve) => {
    settle = resolve;
  });
  const stop = (c: StopCause): void => {
    if (cause !== undefined) return;
    cause = c;
    settle(c);
  };
  const onSignal = (signal: NodeJS.Signals): void => stop(signal as StopCause);
  for (const s of STOP_SIGNALS) process.on(s, onSignal);
  return {
    get cause() {
      return cause;
    },
    received,
    stop,
    dispose: () => {
      for (const s of STOP_SIGNALS) process.off(s, onSignal);
    },
  };
}

/** The signals that interrupt a check or a load. */
export const INTERRUPT_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/** A run's interruption: the first signal aborts `signal` (its reason is the signal's name). */
export interface Interrupt {
  /** Aborted at the first SIGINT or SIGTERM, with the signal's name as the reason. */
  readonly signal: AbortSignal;
  /** Removes the handlers, so later signals act as usual. */
  dispose(): void;
}

/**
 * Installs handlers for INTERRUPT_SIGNALS: the first one aborts the returned signal, so the run stops
 * cleanly and writes what it has; a second one calls `exit` at once with 128 + its number (a run
 * that does not stop must still be stoppable).
 */
export function catchInterrupt(exit: (code: number) => void = (code) => process.exit(code)): Interrupt {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) exit(signalExitCode(signal));
    else controller.abort(signal);
  };
  for (const s of INTERRUPT_SIGNALS) process.on(s, onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      for (const s of INTERRUPT_SIGNALS) process.off(s, onSignal);
    },
  };
}
