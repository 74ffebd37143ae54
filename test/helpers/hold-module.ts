/**
 * Holds a process in start-up, for tests of what a signal does then. Loaded with
 * `node --import <this file>`, it registers itself as module loader hooks: when the process loads the
 * module whose URL ends with ECHOLOT_TEST_HOLD_MODULE, the hook creates the file ECHOLOT_TEST_HOLD_MARKER
 * (the test's cue to send the signal), then waits ECHOLOT_TEST_HOLD_MS before letting the load go on.
 */
import { writeFileSync } from 'node:fs';
import { register } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { isMainThread } from 'node:worker_threads';

interface HoldSettings {
  readonly module: string;
  readonly marker: string;
  readonly ms: number;
}

let settings: HoldSettings | undefined;

/** Hooks thread: receives the settings the main thread read from its environment. */
export function initialize(data: HoldSettings | undefined): void {
  settings = data;
}

type NextLoad = (url: string, context: unknown) => Promise<unknown>;

/** Hooks thread: loads every module as usual, the held one after the marker and the wait. */
export async function load(url: string, context: unknown, nextLoad: NextLoad): Promise<unknown> {
  if (settings !== undefined && url.endsWith(settings.module)) {
    writeFileSync(settings.marker, `${url}\n`);
    await sleep(settings.ms);
  }
  return nextLoad(url, context);
}

if (isMainThread) {
  const module = process.env['ECHOLOT_TEST_HOLD_MODULE'];
  const marker = process.env['ECHOLOT_TEST_HOLD_MARKER'];
  if (module !== undefined && marker !== undefined) {
    const data: HoldSettings = { module, marker, ms: Number(process.env['ECHOLOT_TEST_HOLD_MS'] ?? 1000) };
    register(import.meta.url, { data });
  }
}
