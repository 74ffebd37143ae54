/**
 * Starts one matrix target: writes its files into a temp directory, makes its test host when it
 * wants one, spawns its command, waits until it is ready, and learns its version. Everything it
 * starts is ended by `stop()`, including children a forking server left behind.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isIP } from 'node:net';
import { preflight } from '../target/preflight.js';
import { createTestHost, ip, type TestHost } from '../testhost/netns.js';
import type { ResolvedTarget } from '../target/target.js';
import type { MatrixTarget, VersionSource } from './config.js';

/** dist/harness/cli/main.js: `{echolot}` in a command. */
const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));

/** Bound for a version command. */
const VERSION_TIMEOUT_MS = 5000;

/** A target that answers, ready for `echolot check`. */
export interface StartedTarget {
  /** HOST:PORT to check. */
  readonly address: string;
  /**
   * Further addresses of the same server for cases 4.4, 4.3, 3.3 and 8.x: its test host's extra
   * IPv4 addresses, its IPv6 addresses and its link-local address as this host reaches it (fe80::2%IFACE).
   */
  readonly targetAddrs: readonly string[];
  /** The server's process id (as this host's /proc sees it) for case 10.4, when this run started it. */
  readonly pid?: number;
  /** The command line as run (after substitution), or undefined for a running server. */
  readonly commandLine?: string;
  /** Files written for it, after substitution. */
  readonly files: Readonly<Record<string, string>>;
  /** Where it runs: 'loopback' or 'test host NAME (198.18.n.2, 198.18.n.3)'. */
  readonly where: string;
  /**
   * It runs on a test host this run made: its address (198.18.0.0/15) is not loopback, but the
   * matrix owns it, so its check may flood it (`--i-own-the-target`). A loopback target is owned anyway.
   */
  readonly onOwnTestHost: boolean;
  readonly version: string;
  /** Ends the server, its children and its test host; safe to call more than once. */
  stop(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs a command with a bounded wait and returns stdout+stderr (never throws: a missing tool is a version of 'unknown'). */
function capture(command: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve) => {
    execFile(command, [...args], { timeout: VERSION_TIMEOUT_MS }, (err, stdout, stderr) => {
      resolve(`${stdout}${stderr}${err && !stdout && !stderr ? `(${err.message})` : ''}`);
    });
  });
}

/** The version a target's config says how to find, or 'unknown (why)'. */
export async function findVersion(source: VersionSource | undefined): Promise<string> {
  if (!source) return 'unknown';
  if ('package' in source) {
    const out = (await capture('dpkg-query', ['-W', '-f', '${Version}', source.package])).trim();
    return /^[0-9][\w.:+~-]*$/.test(out)
      ? `${source.package} ${out}`
      : `unknown (${source.package} not installed)`;
  }
  const [cmd = '', ...args] = source.command.map((a) =>
    a.replaceAll('{node}', process.execPath).replaceAll('{echolot}', CLI),
  );
  const out = await capture(cmd, args);
  return (
    new RegExp(source.match).exec(out)?.[1]?.trim() ??
    `unknown (${source.command.join(' ')} printed no version)`
  );
}

const bracket = (host: string): string => (isIP(host) === 6 ? `[${host}]` : host);

/** Waits for an echo from `address:port`, probing every 100 ms until `timeoutMs`. */
async function waitForEcho(
  address: string,
  port: number,
  timeoutMs: number,
  exited: () => string | undefined,
): Promise<void> {
  const target: ResolvedTarget = {
    input: `${bracket(address)}:${port}`,
    host: address,
    port,
    address,
    family: isIP(address) === 6 ? 'IPv6' : 'IPv4',
  };
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const why = exited();
    if (why) throw new Error(why);
    const pre = await preflight(target, { attempts: 1, timeoutMs: 200 });
    if (pre.reachable) return;
    last = pre.diagnosis;
    await sleep(100);
  }
  throw new Error(`no echo within ${timeoutMs} ms (${last})`);
}

/** Ends a process: SIGTERM, SIGKILL after 2 s; resolves when it has exited (or after 5 s regardless). */
function end(child: ChildProcess, group: boolean): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const kill = (signal: NodeJS.Signals): void => {
    try {
      // A detached child leads its own process group: the group takes forked workers (socat fork) with it.
      if (group && child.pid !== undefined) process.kill(-child.pid, signal);
      else child.kill(signal);
    } catch {
      // Already gone.
    }
  };
  return new Promise((resolve) => {
    const killer = setTimeout(() => kill('SIGKILL'), 2000);
    const giveUp = setTimeout(done, 5000);
    function done(): void {
      clearTimeout(killer);
      clearTimeout(giveUp);
      resolve();
    }
    child.once('exit', done);
    kill('SIGTERM');
  });
}

/** Kills every process still in a namespace (workers a server forked outlive it otherwise). */
async function killNamespace(host: TestHost): Promise<void> {
  const pids = async (): Promise<number[]> =>
    (await ip(['netns', 'pids', host.name]).catch(() => ''))
      .split(/\s+/)
      .filter(Boolean)
      .map(Number)
      .filter((n) => Number.isSafeInteger(n) && n > 1 && n !== process.pid);
  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    const list = await pids();
    if (list.length === 0) return;
    for (const pid of list) {
      try {
        process.kill(pid, signal);
      } catch {
        // Already gone.
      }
    }
    await sleep(300);
  }
}

/** Starts (or just reaches) one target and waits until it answers; throws with a one-line reason when it cannot. */
export async function startTarget(t: MatrixTarget, configDir: string): Promise<StartedTarget> {
  const version = await findVersion(t.version);
  if (t.address !== undefined) {
    const m = /^\[?(.*?)\]?:(\d+)$/.exec(t.address);
    const host = m?.[1] ?? '';
    const port = Number(m?.[2]);
    const address = host === 'localhost' ? '127.0.0.1' : host;
    await waitForEcho(address, port, t.ready.timeoutMs, () => undefined);
    return {
      address: t.address,
      targetAddrs: [],
      files: {},
      where: 'already running',
      onOwnTestHost: false,
      version,
      stop: async () => {},
    };
  }
  const dir = await mkdtemp(join(tmpdir(), `echolot-matrix-${t.name}-`));
  let host: TestHost | undefined;
  let child: ChildProcess | undefined;
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      if (child) await end(child, host === undefined);
      if (host) {
        await killNamespace(host);
        await host.remove();
      }
      await rm(dir, { recursive: true, force: true });
    })());
  try {
    if (t.testHost) {
      host = await createTestHost({
        extraAddresses: t.testHost.extraAddresses,
        ipv6Addresses: t.testHost.ipv6Addresses,
        linkLocal: t.testHost.ipv6Addresses > 0,
      });
    }
    const v6 = host?.addresses6 ?? [];
    const subst = (s: string, port: number): string =>
      s
        .replaceAll('{dir}', dir)
        .replaceAll('{port}', String(port))
        .replaceAll('{node}', process.execPath)
        .replaceAll('{echolot}', CLI)
        .replaceAll('{configdir}', configDir)
        .replaceAll('{ipv6_2}', v6[1] ?? v6[0] ?? '::1')
        .replaceAll('{ipv6}', v6[0] ?? '::1')
        .replaceAll('{linklocal}', host?.linkLocal?.inside ?? '::1')
        .replaceAll('{address2}', host?.addresses[1] ?? '127.0.0.1')
        .replaceAll('{address}', host?.address ?? '127.0.0.1');
    const files: Record<string, string> = {};
    for (const [name, content] of Object.entries(t.files)) {
      files[name] = subst(content, t.port);
      await writeFile(join(dir, name), files[name]);
    }
    const argv = (t.command ?? []).map((a) => subst(a, t.port));
    const [cmd = '', ...args] = argv;
    child = host
      ? host.spawn(cmd, args).child
      : spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, cwd: dir });
    let output = '';
    let exitNote: string | undefined;
    let spawnError: string | undefined;
    child.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-16_384)));
    child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-16_384)));
    child.once('error', (err) => (spawnError = err.message));
    child.once('exit', (code, signal) => (exitNote = `exited (${signal ?? code})`));
    const exited = (): string | undefined =>
      spawnError
        ? `cannot start ${cmd}: ${spawnError}`
        : exitNote
          ? `${cmd} ${exitNote} before it was ready: ${output.trim().split('\n').slice(-2).join(' | ')}`
          : undefined;
    let port = t.port;
    if (t.ready.line !== undefined) {
      const re = new RegExp(t.ready.line);
      const deadline = Date.now() + t.ready.timeoutMs;
      let m: RegExpExecArray | null = null;
      while (!(m = re.exec(output))) {
        const why = exited();
        if (why) throw new Error(why);
        if (Date.now() > deadline)
          throw new Error(`no line matching /${t.ready.line}/ within ${t.ready.timeoutMs} ms`);
        await sleep(50);
      }
      if (m[1] !== undefined) port = Number(m[1]);
    }
    const address = host?.address ?? '127.0.0.1';
    if (t.ready.probe !== false || t.ready.line === undefined) {
      await waitForEcho(address, port, t.ready.timeoutMs, exited);
    }
    return {
      address: `${bracket(address)}:${port}`,
      targetAddrs: host
        ? [...host.addresses.slice(1), ...v6, ...(host.linkLocal ? [host.linkLocal.peer] : [])]
        : [],
      ...(child.pid === undefined ? {} : { pid: child.pid }),
      commandLine: argv
        .map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`))
        .join(' '),
      files,
      where: host
        ? `test host ${host.name} (${[...host.addresses, ...v6, ...(host.linkLocal ? [host.linkLocal.peer] : [])].join(', ')}; client ${[host.hostAddress, ...(host.hostAddress6 ? [host.hostAddress6] : [])].join(', ')})`
        : 'loopback',
      onOwnTestHost: host !== undefined,
      version,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
