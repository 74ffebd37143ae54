/**
 * Acquiring a target: the one place every command gets the server it talks to. A target given as
 * HOST:PORT is parsed and resolved; without one the reference server is started, in this process
 * (conformance checks: the catalogue sees its own aliases and ::1) or in a child process (load:
 * generator and server never share an event loop). An optional preflight decides, before any
 * case or load, whether the target answers at all.
 */
import { staticCapabilities } from '../net/capabilities.js';
import { HarnessError } from '../errors.js';
import { startReferenceServer } from '../../reference-server/index.js';
import { startReferenceServerChild } from './child-server.js';
import { preflight, type PreflightOptions, type PreflightResult } from './preflight.js';
import { parseTarget, resolveTarget, type ResolvedTarget } from './target.js';

/** How the reference server runs when there is no target. */
export type EmbeddedMode = 'in-process' | 'child';

/** How to acquire a target. */
export interface AcquireOptions {
  /** Where the reference server runs when `input` is undefined. */
  readonly embedded: EmbeddedMode;
  /** Run the preflight; a target that does not answer is ERR_ECHOLOT_UNREACHABLE (exit 69). @defaultValue no preflight */
  readonly preflight?: PreflightOptions;
  /**
   * Return a target that answered none of the preflight's echoes (without refusing them) instead of
   * throwing, so the caller can find out why (harness/probes/silence.ts). @defaultValue false
   */
  readonly keepSilent?: boolean;
  /**
   * Judges the resolved target before any traffic (a safety guard, a family check); throws (or
   * rejects with) a HarnessError to refuse it. The embedded server is stopped again when it does.
   */
  readonly admit?: (target: Target) => void | Promise<void>;
}

/** A resolved target, and whether it is the embedded reference server. */
export interface Target extends ResolvedTarget {
  readonly embedded: boolean;
}

/** The embedded reference server, when the target is one. */
export interface EmbeddedServer {
  /** Where it runs. */
  readonly mode: EmbeddedMode;
  /** Its datagram I/O path ('native' or 'dgram'; 'unknown' for a child, which reports its own). */
  readonly io: string;
  /** Every address it serves (the target's address first). */
  readonly addresses: readonly string[];
  /** Its process (this one for an in-process server). */
  readonly pid: number | undefined;
}

/** A target ready for traffic; `close()` stops the embedded server, if any, and is idempotent. */
export interface AcquiredTarget {
  readonly target: Target;
  readonly server?: EmbeddedServer;
  /** What the preflight found (absent when none ran). */
  readonly preflight?: PreflightResult;
  close(): Promise<void>;
}

/** What an ERR_ECHOLOT_UNREACHABLE of the preflight carries as its `cause`: the target and what was found. */
export interface UnreachableTarget {
  readonly target: Target;
  readonly preflight: PreflightResult;
}

/** The ERR_ECHOLOT_UNREACHABLE (exit 69) of a target that did not answer the preflight; the message is the diagnosis. */
export function unreachableError(
  target: Target,
  preflight: PreflightResult,
  diagnosis = preflight.diagnosis,
): HarnessError {
  const cause: UnreachableTarget = { target, preflight };
  return new HarnessError('ERR_ECHOLOT_UNREACHABLE', diagnosis, { cause });
}

/** The target and preflight of an unreachableError (undefined for any other error). */
export function unreachableTarget(err: unknown): UnreachableTarget | undefined {
  if (!(err instanceof HarnessError) || err.code !== 'ERR_ECHOLOT_UNREACHABLE') return undefined;
  const cause = err.cause as Partial<UnreachableTarget> | undefined;
  return cause?.target !== undefined && cause.preflight !== undefined
    ? { target: cause.target, preflight: cause.preflight }
    : undefined;
}

/** Addresses the in-process reference server serves: 127.0.0.1 (the target), two 127/8 aliases (case 4.3) and ::1. */
export const EMBEDDED_BIND_V4: readonly string[] = Object.freeze(['127.0.0.1', '127.0.0.2', '127.1.2.3']);

/** What the embedded target is called in reports. */
export const EMBEDDED_INPUT = 'embedded reference server';

/** Starts the reference server the way `mode` says, on one ephemeral port of 127.0.0.1. */
async function startEmbedded(
  mode: EmbeddedMode,
): Promise<{ server: EmbeddedServer; port: number; close: () => Promise<void> }> {
  if (mode === 'child') {
    const child = await startReferenceServerChild();
    return {
      server: { mode, io: 'unknown', addresses: [child.address], pid: child.pid },
      port: child.port,
      close: () => child.close(),
    };
  }
  const caps = staticCapabilities();
  const bind = caps.linux ? [...EMBEDDED_BIND_V4] : ['127.0.0.1'];
  if (caps.ipv6Loopback) bind.push('::1');
  const server = await startReferenceServer({ port: 0, bind });
  return {
    server: { mode, io: server.io, addresses: server.addresses(), pid: process.pid },
    port: server.port,
    close: () => server.close(),
  };
}

/**
 * Resolves `input` (HOST:PORT; undefined = the reference server, started as `options.embedded`
 * says), admits it, and preflights it when asked. Usage errors throw ERR_ECHOLOT_USAGE, unknown
 * names ERR_ECHOLOT_RESOLVE, a silent target ERR_ECHOLOT_UNREACHABLE; nothing is left running then.
 */
export async function acquireTarget(
  input: string | undefined,
  options: AcquireOptions,
): Promise<AcquiredTarget> {
  const parsed = input === undefined ? undefined : parseTarget(input);
  let close = (): Promise<void> => Promise.resolve();
  try {
    let target: Target;
    let server: EmbeddedServer | undefined;
    if (parsed) {
      target = { ...(await resolveTarget(parsed)), embedded: false };
    } else {
      const started = await startEmbedded(options.embedded);
      close = started.close;
      server = started.server;
      target = {
        input: EMBEDDED_INPUT,
        host: '127.0.0.1',
        port: started.port,
        address: '127.0.0.1',
        family: 'IPv4',
        embedded: true,
      };
    }
    await options.admit?.(target);
    let pre: PreflightResult | undefined;
    if (options.preflight) {
      pre = await preflight(target, options.preflight);
      const explainable = options.keepSilent === true && pre.silent === true;
      if (!pre.reachable && !explainable) throw unreachableError(target, pre);
    }
    let closed: Promise<void> | undefined;
    return {
      target,
      ...(server ? { server } : {}),
      ...(pre ? { preflight: pre } : {}),
      close: () => (closed ??= close()),
    };
  } catch (err) {
    await close();
    throw err;
  }
}
