/** Exit statuses of runs a signal interrupted: a shell's 128 + the signal's number (SIGINT 130, SIGTERM 143). */
import { constants } from 'node:os';

/** The exit status of a run interrupted by `signal` (a signal name; anything else counts as SIGINT). */
export function signalExitCode(signal: string): number {
  return 128 + (constants.signals[signal as NodeJS.Signals] ?? constants.signals.SIGINT);
}

/** Why an aborted run stopped, from its AbortSignal's reason (the CLI aborts with the signal's name). */
export function interruptReason(signal: AbortSignal): string {
  return typeof signal.reason === 'string' ? signal.reason : 'SIGINT';
}
