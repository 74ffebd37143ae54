/**
 * The echo servers under test: the loopback ones as child processes (each ready once it prints its
 * listening line), and the inetd test host (openbsd-inetd and echo-mmsg in a network namespace).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  LISTENING_PATTERN,
  START_TIMEOUT_MS,
  stopChild,
  waitForLine,
} from '../harness/target/child-server.js';
import { createTestHost, type HostProcess, type TestHost } from '../harness/testhost/netns.js';
import { BrokenSetup, CLI, ROOT } from './config.js';
import { pinned, run, type Pinning } from './machine.js';

/** A running echo server under test. */
export interface Server {
  readonly address: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** Waits for the child's listening line; stops it and throws a setup error otherwise. */
async function awaitListening(
  child: ChildProcess,
  label: string,
  stop: () => Promise<void>,
): Promise<number> {
  try {
    return Number((await waitForLine(child, LISTENING_PATTERN, START_TIMEOUT_MS))[1]);
  } catch (err) {
    await stop();
    throw new BrokenSetup(`cannot start ${label}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

async function startServer(
  label: string,
  cpu: number | undefined,
  command: string,
  args: string[],
): Promise<Server> {
  const [cmd, argv] = pinned(cpu, command, args);
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  const stop = (): Promise<void> => stopChild(child);
  const port = await awaitListening(child, label, stop);
  return { address: '127.0.0.1', port, stop };
}

/** The loopback servers of the server rows. */
export interface LoopbackServers {
  readonly reference: Server;
  readonly naive: Server;
  readonly mmsg: Server;
  readonly loop: Server;
}

/**
 * Starts the loopback servers one after the other on the server CPU; each joins `started` as soon as it
 * runs, so the caller stops whichever did start when a later one fails.
 */
export async function startLoopbackServers(
  pin: Pinning,
  buildDir: string,
  started: Server[],
): Promise<LoopbackServers> {
  const start = async (label: string, command: string, args: string[]): Promise<Server> => {
    const server = await startServer(label, pin.serverCpu, command, args);
    started.push(server);
    return server;
  };
  const reference = await start('the reference server', process.execPath, [
    CLI,
    'serve',
    '--port',
    '0',
    '--bind',
    '127.0.0.1',
  ]);
  const naive = await start('naive-server.mjs', process.execPath, [
    join(ROOT, 'bench', 'naive-server.mjs'),
    '0',
    '127.0.0.1',
  ]);
  const mmsg = await start('echo-mmsg', join(buildDir, 'echo-mmsg'), ['0', '127.0.0.1']);
  const loop = await start('echo-loop', join(buildDir, 'echo-loop'), ['0', '127.0.0.1']);
  return { reference, naive, mmsg, loop };
}

/** Sends one datagram every 100 ms until it comes back (a server with no listening line is ready then). */
async function awaitEcho(address: string, port: number, timeoutMs: number): Promise<boolean> {
  const socket = dgram.createSocket('udp4');
  try {
    return await new Promise<boolean>((done) => {
      const finish = (ok: boolean): void => {
        clearTimeout(deadline);
        clearInterval(tick);
        done(ok);
      };
      const deadline = setTimeout(() => finish(false), timeoutMs);
      const tick = setInterval(() => socket.send('echolot-bench-ready', port, address), 100);
      socket.on('error', () => undefined);
      socket.once('message', () => finish(true));
      socket.send('echolot-bench-ready', port, address);
    });
  } finally {
    socket.close();
  }
}

/** The inetd test host: openbsd-inetd's internal echo and the C mmsg server, over a veth link. */
export interface Veth {
  readonly host: TestHost;
  readonly inetd: { address: string; port: number };
  readonly mmsg: { address: string; port: number };
  readonly tmp: string;
}

const INETD = '/usr/sbin/inetd';

/** Why the veth rows cannot run here, or undefined when they can. */
export async function vethUnavailable(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'needs root (a network namespace for the test host)';
  if (!existsSync(INETD)) return `${INETD} is missing (Debian package openbsd-inetd)`;
  if ((await run('ip', ['-V'], 5000)).code !== 0) return 'the ip command is missing (iproute2)';
  return undefined;
}

/** Creates the test host and starts both of its servers on the server CPU. */
export async function startVeth(pin: Pinning, buildDir: string): Promise<Veth> {
  const host = await createTestHost();
  const tmp = mkdtempSync(join(tmpdir(), 'echolot-bench-'));
  try {
    // openbsd-inetd's internal echo ignores datagrams from 127/8, hence the namespace.
    const conf = join(tmp, 'inetd.conf');
    writeFileSync(conf, 'echo dgram udp wait root internal\n');
    const inside = (command: string, args: string[]): HostProcess => {
      const [cmd, argv] = pinned(pin.serverCpu, command, args);
      return host.spawn(cmd, argv);
    };
    const inetdProcess = inside(INETD, ['-i', conf]);
    let inetdErr = '';
    inetdProcess.child.stderr?.on('data', (d: Buffer) => (inetdErr += d.toString()));
    if (!(await awaitEcho(host.address, 7, START_TIMEOUT_MS))) {
      throw new BrokenSetup(`openbsd-inetd in ${host.name} does not echo on port 7: ${inetdErr.trim()}`);
    }
    const mmsgProcess = inside(join(buildDir, 'echo-mmsg'), ['7007', host.address]);
    await awaitListening(mmsgProcess.child, 'echo-mmsg in the test host', () => mmsgProcess.stop());
    return {
      host,
      tmp,
      inetd: { address: host.address, port: 7 },
      mmsg: { address: host.address, port: 7007 },
    };
  } catch (err) {
    await host.remove();
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

/** Removes the test host (and with it its servers) and the inetd configuration. */
export async function stopVeth(veth: Veth): Promise<void> {
  await veth.host.remove();
  rmSync(veth.tmp, { recursive: true, force: true });
}
