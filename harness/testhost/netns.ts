/**
 * Test hosts: a network namespace joined to this host by a veth pair, addressed from 198.18.0.0/15
 * (RFC 2544 benchmarking space) and, when asked, 2001:2::/48 (RFC 5180, its IPv6 counterpart), so cases and self-tests get a real link (MTU, link-local
 * addresses, several addresses) without touching any other network. Needs root (CAP_NET_ADMIN) and
 * the `ip` command: Capabilities.netns.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';

/** Upper bound for one `ip` call; a hung `ip` must not hang a case. */
const IP_TIMEOUT_MS = 5000;

/** How a test host is made. */
export interface TestHostOptions {
  /** Further IPv4 addresses on the namespace side, as a count: 198.18.n.3, .4, ... @defaultValue 0 */
  readonly extraAddresses?: number;
  /** MTU of both veth ends. @defaultValue 1500 (the veth default) */
  readonly mtu?: number;
  /** Give both ends a static link-local IPv6 address (fe80::1 host side, fe80::2 in the namespace), without DAD. @defaultValue false */
  readonly linkLocal?: boolean;
  /**
   * Global IPv6 addresses on the namespace side, as a count: 2001:2:0:K::2, ::3, ... of the /64
   * that matches the IPv4 /24 (K = its index in 198.18.0.0/15), the host end ::1; without DAD.
   * @defaultValue 0
   */
  readonly ipv6Addresses?: number;
}

/** A process started inside a test host's namespace. */
export interface HostProcess {
  readonly child: ChildProcess;
  /** Ends the process (SIGTERM, then SIGKILL after 2 s); resolves when it has exited. */
  stop(): Promise<void>;
}

/** A network namespace with one veth link to this host. */
export interface TestHost {
  /** Namespace name (for `ip netns exec`). */
  readonly name: string;
  /** The veth end on this host. */
  readonly hostInterface: string;
  /** The veth end inside the namespace. */
  readonly nsInterface: string;
  /** This host's address on the link (198.18.n.1). */
  readonly hostAddress: string;
  /** The namespace's primary address (198.18.n.2). */
  readonly address: string;
  /** Every namespace address: the primary first, then the extra ones. */
  readonly addresses: readonly string[];
  /** This host's global IPv6 address on the link (2001:2:0:K::1), when IPv6 addresses were asked for. */
  readonly hostAddress6?: string;
  /** The namespace's global IPv6 addresses (2001:2:0:K::2, ::3, ...); empty unless asked for. */
  readonly addresses6?: readonly string[];
  /** Link-local addresses with scope ids, when asked for. */
  readonly linkLocal?: {
    /** This host's end, fe80::1%hostInterface. */
    readonly host: string;
    /** The namespace as reached from this host, fe80::2%hostInterface. */
    readonly peer: string;
    /** The namespace's own address as a process inside binds it, fe80::2%nsInterface. */
    readonly inside: string;
  };
  readonly mtu: number;
  /** Starts `command args` inside the namespace; the process is killed when the host is removed. */
  spawn(command: string, args: readonly string[]): HostProcess;
  /** Kills its processes and deletes the namespace and the veth pair; safe to call more than once. */
  remove(): Promise<void>;
}

/** Runs `ip ARGS` with a bounded wait; rejects with ip's stderr. */
export function ip(args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ip', [...args], { timeout: IP_TIMEOUT_MS }, (err, stdout, stderr) => {
      if (err) reject(new Error(`ip ${args.join(' ')}: ${stderr.trim() || err.message}`, { cause: err }));
      else resolve(stdout);
    });
  });
}

let counter = 0;
const live = new Set<LiveHost>();

/** What makes up one test host: the namespaces and this host's links that its teardown deletes. */
export interface TestHostParts {
  /** The namespace its processes run in unless told otherwise (what liveTestHosts() lists). */
  readonly name: string;
  /** Every namespace to delete, `name` among them. */
  readonly namespaces: readonly string[];
  /** Links in this (the initial) namespace to delete; deleting a veth end deletes its peer too. */
  readonly links: readonly string[];
}

/** How TrackedTestHost.spawn starts a process. */
export interface SpawnOptions {
  /** The namespace to run in. @defaultValue the host's own (`name`) */
  readonly namespace?: string;
  /** 'pipe' gives the process a stdin to write to. @defaultValue 'ignore' */
  readonly stdin?: 'pipe' | 'ignore';
}

/** A test host's parts, registered for teardown by remove() and on exit, SIGINT and SIGTERM. */
export interface TrackedTestHost {
  /** Starts `command args` in one of the host's namespaces; it is killed when the host is removed. */
  spawn(command: string, args: readonly string[], options?: SpawnOptions): HostProcess;
  /** Kills its processes, deletes the links and the namespaces; safe to call more than once. */
  remove(): Promise<void>;
}

interface LiveHost extends TestHostParts {
  readonly processes: Set<ChildProcess>;
}

/** Synchronous teardown for exit paths, where no promise will be awaited. */
function removeSync(h: LiveHost): void {
  for (const p of h.processes) p.kill('SIGKILL');
  for (const args of [
    ...h.links.map((l) => ['link', 'del', l]),
    ...h.namespaces.map((n) => ['netns', 'del', n]),
  ]) {
    try {
      execFileSync('ip', args, { stdio: 'ignore', timeout: IP_TIMEOUT_MS });
    } catch {
      // Already gone.
    }
  }
  live.delete(h);
}

function onExit(): void {
  for (const h of [...live]) removeSync(h);
}

function onSignal(signal: NodeJS.Signals): void {
  onExit();
  uninstall();
  // Nobody else handles it: let the default action (termination) happen as if we were not here.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

let installed = false;
function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', onExit);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
function uninstall(): void {
  if (!installed || live.size > 0) return;
  installed = false;
  process.off('exit', onExit);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
}

/**
 * Registers a test host's parts for teardown before any of them is made, so that a failure half-way
 * or the process's exit removes whatever exists by then.
 */
export function trackTestHost(parts: TestHostParts): TrackedTestHost {
  const h: LiveHost = {
    name: parts.name,
    namespaces: [...parts.namespaces],
    links: [...parts.links],
    processes: new Set(),
  };
  install();
  live.add(h);
  let removed: Promise<void> | undefined;
  return {
    spawn: (command, args, options = {}) => spawnIn(h, command, args, options),
    remove: () => (removed ??= removeHost(h)),
  };
}

let draws = 0;

/**
 * The first three octets ("198.18.k" or "198.19.k") of a /24 in 198.18.0.0/15 that no interface of
 * this namespace uses yet. Each call starts its search elsewhere, so calls racing in one process
 * pick different subnets.
 */
export async function freeSubnet(): Promise<string> {
  const used = await ip(['-o', '-4', 'addr', 'show']);
  const start = (process.pid * 7 + draws++ * 13) % 510;
  for (let i = 0; i < 510; i++) {
    const k = ((start + i) % 510) + 1;
    const prefix = `198.${k < 256 ? 18 : 19}.${k % 256}`;
    if (!used.includes(` ${prefix}.`)) return prefix;
  }
  throw new Error('no free /24 left in 198.18.0.0/15 for a test host');
}

/**
 * The IPv6 /64 (without the trailing "::") in 2001:2::/48 that goes with an IPv4 /24 of
 * 198.18.0.0/15: "198.18.5" -> "2001:2:0:5", "198.19.5" -> "2001:2:0:105". Two test hosts with
 * different /24s thus never share a /64.
 */
export function ipv6PrefixOf(prefix4: string): string {
  const m = /^198\.(18|19)\.(\d{1,3})$/.exec(prefix4);
  if (!m) throw new Error(`not a /24 of 198.18.0.0/15: ${prefix4}`);
  const k = (m[1] === '19' ? 256 : 0) + Number(m[2]);
  return `2001:2:0:${k.toString(16)}`;
}

/** Creates a test host; on any failure, whatever was made is removed again before rejecting. */
export async function createTestHost(options: TestHostOptions = {}): Promise<TestHost> {
  const n = counter++;
  const tag = `${process.pid.toString(36)}-${n.toString(36)}`;
  const name = `echolot-${tag}`;
  const hostInterface = `el${tag}h`;
  const nsInterface = `el${tag}n`;
  const mtu = options.mtu ?? 1500;
  const tracked = trackTestHost({ name, namespaces: [name], links: [hostInterface] });
  try {
    const prefix = await freeSubnet();
    const hostAddress = `${prefix}.1`;
    const prefix6 = ipv6PrefixOf(prefix);
    const addresses6 = Array.from({ length: options.ipv6Addresses ?? 0 }, (_, i) => `${prefix6}::${i + 2}`);
    const addresses = Array.from(
      { length: 1 + (options.extraAddresses ?? 0) },
      (_, i) => `${prefix}.${i + 2}`,
    );
    await ip(['netns', 'add', name]);
    await ip([
      'link',
      'add',
      hostInterface,
      'mtu',
      String(mtu),
      'type',
      'veth',
      'peer',
      'name',
      nsInterface,
      'mtu',
      String(mtu),
    ]);
    await ip(['link', 'set', nsInterface, 'netns', name]);
    // Link-local addresses are static and skip DAD, so the link is usable at once instead of after ~1 s.
    for (const [args, ll] of [
      [[], 'fe80::1/64'],
      [['-n', name], 'fe80::2/64'],
    ] as const) {
      const dev = args.length ? nsInterface : hostInterface;
      await ip([...args, 'link', 'set', dev, 'addrgenmode', 'none']);
      if (options.linkLocal) await ip([...args, '-6', 'addr', 'add', ll, 'dev', dev, 'nodad']);
    }
    await ip(['addr', 'add', `${hostAddress}/24`, 'dev', hostInterface]);
    for (const a of addresses) await ip(['-n', name, 'addr', 'add', `${a}/24`, 'dev', nsInterface]);
    if (addresses6.length > 0) {
      await ip(['-6', 'addr', 'add', `${prefix6}::1/64`, 'dev', hostInterface, 'nodad']);
      for (const a of addresses6)
        await ip(['-n', name, '-6', 'addr', 'add', `${a}/64`, 'dev', nsInterface, 'nodad']);
    }
    await ip(['link', 'set', hostInterface, 'up']);
    await ip(['-n', name, 'link', 'set', nsInterface, 'up']);
    await ip(['-n', name, 'link', 'set', 'lo', 'up']);
    const primary = addresses[0] ?? `${prefix}.2`;
    const host: TestHost = {
      name,
      hostInterface,
      nsInterface,
      hostAddress,
      address: primary,
      addresses,
      ...(addresses6.length > 0 ? { hostAddress6: `${prefix6}::1` } : {}),
      addresses6,
      ...(options.linkLocal
        ? {
            linkLocal: {
              host: `fe80::1%${hostInterface}`,
              peer: `fe80::2%${hostInterface}`,
              inside: `fe80::2%${nsInterface}`,
            },
          }
        : {}),
      mtu,
      spawn: (command, args) => tracked.spawn(command, args),
      remove: () => tracked.remove(),
    };
    return host;
  } catch (err) {
    await tracked.remove();
    throw err;
  }
}

async function removeHost(h: LiveHost): Promise<void> {
  await Promise.all([...h.processes].map((p) => stopProcess(p)));
  // Deleting the host end takes the namespace end with it; a namespace goes once no process holds it.
  for (const l of h.links) await ip(['link', 'del', l]).catch(() => undefined);
  for (const n of h.namespaces) await ip(['netns', 'del', n]).catch(() => undefined);
  live.delete(h);
  uninstall();
}

function stopProcess(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const killer = setTimeout(() => p.kill('SIGKILL'), 2000);
    // A process that never exits even after SIGKILL must not hold the caller forever.
    const giveUp = setTimeout(done, 5000);
    function done(): void {
      clearTimeout(killer);
      clearTimeout(giveUp);
      resolve();
    }
    p.once('exit', done);
    p.kill('SIGTERM');
  });
}

function spawnIn(h: LiveHost, command: string, args: readonly string[], options: SpawnOptions): HostProcess {
  // `ip netns exec` execs the command after entering the namespace, so the pid is the command's.
  const child = spawn('ip', ['netns', 'exec', options.namespace ?? h.name, command, ...args], {
    stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'],
  });
  h.processes.add(child);
  child.once('exit', () => h.processes.delete(child));
  child.on('error', () => h.processes.delete(child));
  return { child, stop: () => stopProcess(child) };
}

/** The test hosts of this process that are not removed yet (for leak checks in self-tests). */
export function liveTestHosts(): readonly string[] {
  return [...live].map((h) => h.name);
}
