import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { listenFdsFromEnv } from '../../reference-server/systemd.js';
import { skipBecause } from '../helpers/skip.js';

/** dist/test/serve-cli.test.js -> dist/harness/cli/main.js */
const MAIN = fileURLToPath(new URL('../../harness/cli/main.js', import.meta.url));
/** Module loader hooks that hold a module back while a process starts (dist/test/helpers/hold-module.js). */
const HOLD_MODULE = new URL('../helpers/hold-module.js', import.meta.url).href;
/** Upper bound for any single wait on the child, so a broken build fails instead of hanging. */
const WAIT_MS = 5000;

const LISTENING =
  /^echolot serve: listening on udp port (\d+) at (.+) \(loop protection: source ports ([\d,]+) and the server's own port; loop guard (on|off)\)$/;
const SUMMARY =
  /^echolot serve: stopped; received (\d+), echoed (\d+), dropped by policy (\d+), dropped \(queue full\) (\d+), errors (\d+)$/;

interface Run {
  readonly child: ChildProcess;
  readonly stdout: string[];
  readonly stderr: string[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running: ChildProcess[] = [];

function run(command: string, args: readonly string[]): Run {
  return collect(spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
}

/** Collects the lines of a child's stdout and stderr and its exit. */
function collect(child: ChildProcess): Run {
  running.push(child);
  const stdout: string[] = [];
  const stderr: string[] = [];
  const split = (sink: string[]) => {
    let partial = '';
    return (chunk: Buffer): void => {
      const parts = (partial + chunk.toString('utf8')).split('\n');
      partial = parts.pop() ?? '';
      sink.push(...parts);
    };
  };
  child.stdout?.on('data', split(stdout));
  child.stderr?.on('data', split(stderr));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  return { child, stdout, stderr, exited };
}

function serve(args: readonly string[]): Run {
  return run(process.execPath, [MAIN, 'serve', ...args]);
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function waitForLine(lines: string[], pattern: RegExp, what: string): Promise<RegExpMatchArray> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    for (const line of lines) {
      const m = pattern.exec(line);
      if (m) return m;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; got: ${JSON.stringify(lines)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function echoOnce(port: number, payload: Buffer, address = '127.0.0.1'): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const v6 = address.includes(':');
    const socket: Socket = createSocket(v6 ? 'udp6' : 'udp4');
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error('no echo within 2000 ms'));
    }, 2000);
    socket.on('error', (err) => {
      clearTimeout(timer);
      socket.close();
      reject(err);
    });
    socket.once('message', (msg) => {
      clearTimeout(timer);
      socket.close();
      resolve(msg);
    });
    socket.bind(0, v6 ? '::1' : '127.0.0.1', () => socket.send(payload, port, address));
  });
}

describe('echolot serve [io]', function () {
  this.timeout(15000);

  after(() => {
    for (const child of running) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  it('prints the listening line, echoes, and on SIGTERM prints the summary and exits 0 within 2 s', async () => {
    const r = serve(['--port', '0', '--bind', '127.0.0.1']);
    const [, port, addresses, loopPorts, guard] = await waitForLine(
      r.stdout,
      LISTENING,
      'the listening line',
    );
    expect(addresses).to.equal('127.0.0.1');
    expect(loopPorts).to.equal('0,7,9,13,19,37');
    expect(guard).to.equal('on');
    const payload = Buffer.from('00ff6563686f0d0a', 'hex');
    expect((await echoOnce(Number(port), payload)).toString('hex')).to.equal('00ff6563686f0d0a');

    r.child.kill('SIGTERM');
    const { code } = await within(r.exited, 2000, 'exit after SIGTERM');
    expect(code).to.equal(0);
    const listening = r.stdout.filter((l) => LISTENING.test(l));
    expect(listening, 'exactly one listening line').to.have.length(1);
    const summary = r.stdout.filter((l) => SUMMARY.test(l));
    expect(summary).to.deep.equal([
      'echolot serve: stopped; received 1, echoed 1, dropped by policy 0, dropped (queue full) 0, errors 0',
    ]);
    expect(r.stdout.filter((l) => l !== '')).to.have.length(2);
  });

  it('stops the same way on SIGINT', async () => {
    const r = serve(['--port', '0', '--bind', '127.0.0.1', '--quiet']);
    await waitForLine(r.stdout, LISTENING, 'the listening line');
    r.child.kill('SIGINT');
    const { code } = await within(r.exited, 2000, 'exit after SIGINT');
    expect(code).to.equal(0);
    expect(r.stdout.some((l) => SUMMARY.test(l))).to.equal(true);
  });

  it('stops the same way on SIGHUP (a closed terminal, or a reload request: serve has nothing to reload)', async () => {
    const r = serve(['--port', '0', '--bind', '127.0.0.1']);
    await waitForLine(r.stdout, LISTENING, 'the listening line');
    r.child.kill('SIGHUP');
    const { code, signal } = await within(r.exited, 2000, 'exit after SIGHUP');
    expect({ code, signal }).to.deep.equal({ code: 0, signal: null });
    expect(r.stdout.filter((l) => SUMMARY.test(l))).to.have.length(1);
  });

  it('ends with a summary of zero counters and exit 0 on a SIGTERM while it is still loading', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'echolot-hold-'));
    const marker = join(dir, 'held');
    try {
      // serve-command.js is held back for 1.5 s: the signal arrives before anything is bound.
      const child = spawn(
        process.execPath,
        ['--import', HOLD_MODULE, MAIN, 'serve', '--port', '0', '--bind', '127.0.0.1'],
        {
          env: {
            ...process.env,
            ECHOLOT_TEST_HOLD_MODULE: '/harness/cli/serve-command.js',
            ECHOLOT_TEST_HOLD_MARKER: marker,
            ECHOLOT_TEST_HOLD_MS: '1500',
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      const r = collect(child);
      const deadline = Date.now() + WAIT_MS;
      while (!existsSync(marker)) {
        if (Date.now() > deadline)
          throw new Error(`serve-command.js was never loaded; stderr: ${r.stderr.join('\n')}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      child.kill('SIGTERM');
      const { code, signal } = await within(r.exited, WAIT_MS, 'exit after an early SIGTERM');
      expect({ code, signal }, r.stderr.join('\n')).to.deep.equal({ code: 0, signal: null });
      expect(r.stdout.filter((l) => l !== '')).to.deep.equal([
        'echolot serve: stopped; received 0, echoed 0, dropped by policy 0, dropped (queue full) 0, errors 0',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('prints the summary on stderr and exits 0 when stdout was closed before SIGTERM (serve | head -n1)', async () => {
    const r = serve(['--port', '0', '--bind', '127.0.0.1']);
    await waitForLine(r.stdout, LISTENING, 'the listening line');
    await new Promise((resolve) => r.child.stdout?.once('close', resolve).destroy());
    r.child.kill('SIGTERM');
    const { code, signal } = await within(r.exited, 2000, 'exit after SIGTERM');
    expect({ code, signal }, r.stderr.join('\n')).to.deep.equal({ code: 0, signal: null });
    expect(r.stderr.filter((l) => l !== '')).to.deep.equal([
      'echolot serve: stopped; received 0, echoed 0, dropped by policy 0, dropped (queue full) 0, errors 0',
    ]);
  });

  it('stops with exit 74 and its summary on stderr when stdout cannot be written (JSON records)', async () => {
    const r = serve(['--port', '0', '--bind', '127.0.0.1', '--log-format', 'json']);
    // Closed long before node has started: the listening record is the first write to fail.
    r.child.stdout?.destroy();
    const { code, signal } = await within(r.exited, WAIT_MS, 'exit after stdout was closed');
    expect({ code, signal }, r.stderr.join('\n')).to.deep.equal({ code: 74, signal: null });
    const records = r.stderr.filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records.map((rec) => [rec['level'], rec['event']])).to.deep.equal([
      ['info', 'listening'],
      ['warn', 'stdout-error'],
      ['info', 'stopped'],
    ]);
    expect(records[1]?.['msg']).to.match(/^stdout cannot be written \(EPIPE\): stopping$/);
    expect(records[2]).to.include({ received: 0, echoed: 0 });
  });

  it('exits 64 naming the value for an --allow range with host bits set', async () => {
    const r = serve(['--port', '0', '--bind', '127.0.0.1', '--allow', '127.0.0.1/8']);
    const { code } = await within(r.exited, WAIT_MS, 'exit');
    expect(code).to.equal(64);
    expect(r.stderr.filter((l) => l !== '')).to.deep.equal([
      'echolot: --allow 127.0.0.1/8: has host bits set; did you mean 127.0.0.0/8?',
    ]);
    expect(r.stdout.join('')).to.equal('');
  });

  it('answers a socket without a policy on a thread of its own, one with a policy on the event loop', async function () {
    if (!existsSync('/proc/self/task')) return skipBecause(this, 'no /proc/<pid>/task to count threads in');
    // The same server twice, once with a policy (a rate limit: JavaScript decides per batch, so the
    // loop must answer): the one without has one thread more, its echo thread.
    const threads = async (args: readonly string[]): Promise<number> => {
      const r = serve(['--port', '0', '--bind', '127.0.0.1', ...args]);
      const [, port] = await waitForLine(r.stdout, LISTENING, 'the listening line');
      expect((await echoOnce(Number(port), Buffer.from('threads'))).toString()).to.equal('threads');
      const n = readdirSync(`/proc/${r.child.pid}/task`).length;
      r.child.kill('SIGTERM');
      expect((await within(r.exited, 2000, 'exit after SIGTERM')).code).to.equal(0);
      const [, received, echoed] = await waitForLine(r.stdout, SUMMARY, 'the summary line');
      expect([received, echoed]).to.deep.equal(['1', '1']);
      return n;
    };
    const withPolicy = await threads(['--rate-limit', '1000000']);
    const withoutPolicy = await threads([]);
    if (process.env['ECHOLOT_IO'] === 'dgram') expect(withoutPolicy).to.equal(withPolicy);
    else expect(withoutPolicy).to.equal(withPolicy + 1);
  });

  it('drops IPv4 sources named by a v4-mapped --deny address', async () => {
    const r = serve(['--port', '0', '--bind', '127.0.0.1', '--deny', '::ffff:127.0.0.1']);
    const [, port] = await waitForLine(r.stdout, LISTENING, 'the listening line');
    const socket = createSocket('udp4');
    let replies = 0;
    socket.on('message', () => replies++);
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    socket.send(Buffer.from('deny'), Number(port), '127.0.0.1');
    await new Promise((resolve) => setTimeout(resolve, 300));
    socket.close();
    r.child.kill('SIGTERM');
    expect((await within(r.exited, 2000, 'exit')).code).to.equal(0);
    expect(replies).to.equal(0);
    const [, received, echoed, byPolicy] = await waitForLine(r.stdout, SUMMARY, 'the summary line');
    expect([received, echoed, byPolicy]).to.deep.equal(['1', '0', '1']);
  });

  it('shows only source port 0 as refused with --loop-ports none', async () => {
    const r = serve(['--port', '0', '--bind', '127.0.0.1', '--loop-ports', 'none']);
    const [, , , loopPorts] = await waitForLine(r.stdout, LISTENING, 'the listening line');
    expect(loopPorts).to.equal('0');
    r.child.kill('SIGTERM');
    expect((await within(r.exited, 2000, 'exit')).code).to.equal(0);
  });

  it('turns the loop guard off with --loop-guard off and says so on the listening line', async () => {
    const r = serve(['--port', '0', '--bind', '127.0.0.1', '--loop-guard', 'off']);
    const [, , , , guard] = await waitForLine(r.stdout, LISTENING, 'the listening line');
    expect(guard).to.equal('off');
    r.child.kill('SIGTERM');
    expect((await within(r.exited, 2000, 'exit')).code).to.equal(0);
  });

  it('exits 64 with one line naming the option and value for --port 70000', async () => {
    const r = serve(['--port', '70000']);
    const { code } = await within(r.exited, WAIT_MS, 'exit');
    expect(code).to.equal(64);
    const lines = r.stderr.filter((l) => l !== '');
    expect(lines).to.deep.equal(['echolot: --port 70000: must be an integer in 0..65535']);
    expect(r.stdout.join('')).to.equal('');
  });

  it('says every problem of the options in flags and the text given, in one line', async () => {
    const r = serve([
      '--bind',
      '127.0.0.1',
      '--bind',
      '0.0.0.0',
      '--loop-ports',
      '7,70000',
      '--rate-burst',
      'x',
      '--loop-guard',
      'maybe',
    ]);
    const { code } = await within(r.exited, WAIT_MS, 'exit');
    expect(code).to.equal(64);
    expect(r.stderr.filter((l) => l !== '')).to.deep.equal([
      // The words of --loop-guard are the command's to parse, so its problem comes before the library's.
      "echolot: --loop-guard maybe: must be 'on' or 'off'; " +
        "--bind 0.0.0.0: must not be a wildcard address (use 'all' for every local address); " +
        '--loop-ports 7,70000: 70000 must be an integer in 0..65535; ' +
        '--rate-burst x: must be an integer in 1..100000000',
    ]);
    expect(r.stdout.join('')).to.equal('');
  });

  it('exits 69 naming address and port when the address is in use', async () => {
    const squatter = createSocket('udp4');
    await new Promise<void>((resolve) => squatter.bind(0, '127.0.0.1', resolve));
    const port = squatter.address().port;
    try {
      const r = serve(['--port', String(port), '--bind', '127.0.0.1']);
      const { code } = await within(r.exited, WAIT_MS, 'exit');
      expect(code).to.equal(69);
      expect(r.stderr.filter((l) => l !== '')).to.deep.equal([
        `echolot: cannot bind udp 127.0.0.1:${port}: address already in use`,
      ]);
    } finally {
      squatter.close();
    }
  });

  it('describes every option, its default and the exit codes with --help', async () => {
    const r = serve(['--help']);
    const { code } = await within(r.exited, WAIT_MS, 'exit');
    expect(code).to.equal(0);
    const help = r.stdout.join('\n');
    for (const text of [
      '--port',
      '--bind',
      '--loop-ports',
      '--loop-guard',
      '--max-inflight',
      '--quiet',
      '-h, --help',
    ]) {
      expect(help).to.include(text);
    }
    for (const text of [
      'default 7',
      'default: all',
      'default 0,7,9,13,19,37',
      'default 1024',
      'default on',
    ]) {
      expect(help).to.include(text);
    }
    for (const exit of ['64', '69', '70', '74', '77']) expect(help).to.include(exit);
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP', 'EPIPE']) expect(help).to.include(signal);
  });

  it('exits 77 with the privilege hint when an unprivileged user asks for port 7', async function () {
    if (process.getuid?.() !== 0) skipBecause(this, 'needs root to drop to user nobody');
    if (spawnSync('setpriv', ['--version']).status !== 0) skipBecause(this, 'setpriv is not installed');
    const unprivilegedStart = readSysctl('/proc/sys/net/ipv4/ip_unprivileged_port_start');
    if (unprivilegedStart !== undefined && unprivilegedStart <= 7) {
      skipBecause(
        this,
        `net.ipv4.ip_unprivileged_port_start is ${unprivilegedStart}: port 7 needs no privilege here`,
      );
    }
    const drop = ['--reuid=nobody', '--regid=nogroup', '--clear-groups'];
    const readable = spawnSync('setpriv', [
      ...drop,
      process.execPath,
      '-e',
      'require("node:fs").accessSync(process.argv[1])',
      MAIN,
    ]);
    if (readable.status !== 0) skipBecause(this, `user nobody cannot read ${MAIN}`);

    const r = run('setpriv', [
      ...drop,
      process.execPath,
      MAIN,
      'serve',
      '--port',
      '7',
      '--bind',
      '127.0.0.1',
    ]);
    const { code } = await within(r.exited, WAIT_MS, 'exit');
    expect(code).to.equal(77);
    expect(r.stderr.filter((l) => l !== '')).to.deep.equal([
      'echolot: cannot bind udp 127.0.0.1:7: permission denied (ports below 1024 need privilege): ' +
        'use --port 7007, or grant CAP_NET_BIND_SERVICE (setcap cap_net_bind_service=+ep $(command -v node))',
    ]);
  });
});

/** The systemd units shipped in docs/systemd (dist/test -> repository root). */
const UNIT_DIR = fileURLToPath(new URL('../../../docs/systemd', import.meta.url));

function hasCommand(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
}

function freeUdpPort(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket(address.includes(':') ? 'udp6' : 'udp4');
    s.once('error', reject);
    s.bind(0, address, () => {
      const port = s.address().port;
      s.close(() => resolve(port));
    });
  });
}

function nobodyCanRead(): boolean {
  const r = spawnSync('setpriv', [
    '--reuid=nobody',
    '--regid=nogroup',
    '--clear-groups',
    process.execPath,
    '-e',
    'require("node:fs").accessSync(process.argv[1])',
    MAIN,
  ]);
  return r.status === 0;
}

describe('echolot serve as a daemon [io]', function () {
  this.timeout(20000);

  after(() => {
    for (const child of running) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  it('binds port 7 as root, then runs as nobody (ps shows it) and still echoes', async function () {
    if (process.getuid?.() !== 0) skipBecause(this, 'needs root to bind port 7 and switch users');
    if (!hasCommand('setpriv') || !nobodyCanRead()) skipBecause(this, `user nobody cannot read ${MAIN}`);
    const r = serve(['--port', '7', '--bind', '127.0.77.7', '--user', 'nobody']);
    await waitForLine(r.stdout, LISTENING, 'the listening line');
    await waitForLine(r.stderr, /running as user nobody \(uid \d+, gid \d+\)/, 'the privilege line');
    const ps = spawnSync('ps', ['-o', 'user=,group=', '-p', String(r.child.pid)], { encoding: 'utf8' });
    expect(ps.stdout.trim().split(/\s+/)[0]).to.equal('nobody');
    const status = readFileSync(`/proc/${r.child.pid}/status`, 'utf8');
    const uid = /^Uid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)/m.exec(status);
    expect(
      uid?.slice(1).every((u) => u !== '0'),
      'no real, effective, saved or fs uid 0',
    ).to.equal(true);
    expect(/^Groups:\s*(.*)$/m.exec(status)?.[1]?.split(/\s+/)).to.not.include('0');
    expect((await echoOnce(7, Buffer.from('6e6f626f6479', 'hex'), '127.0.77.7')).toString('hex')).to.equal(
      '6e6f626f6479',
    );
    r.child.kill('SIGTERM');
    expect((await within(r.exited, 3000, 'exit')).code).to.equal(0);
  });

  it('exits 64 before binding for an unknown --user', async () => {
    const r = serve(['--port', '0', '--bind', '127.0.0.1', '--user', 'no-such-user-echolot']);
    const { code } = await within(r.exited, WAIT_MS, 'exit');
    expect(code).to.equal(64);
    expect(r.stderr.join('\n')).to.include('--user no-such-user-echolot: no such user');
    expect(r.stdout.join('')).to.equal('');
  });

  it('exits 64 for --user when not root', async function () {
    if (process.getuid?.() !== 0) skipBecause(this, 'needs root to start as an unprivileged user');
    if (!hasCommand('setpriv') || !nobodyCanRead()) skipBecause(this, `user nobody cannot read ${MAIN}`);
    const r = run('setpriv', [
      '--reuid=nobody',
      '--regid=nogroup',
      '--clear-groups',
      process.execPath,
      MAIN,
      'serve',
      '--port',
      '0',
      '--bind',
      '127.0.0.1',
      '--user',
      'nobody',
    ]);
    const { code } = await within(r.exited, WAIT_MS, 'exit');
    expect(code).to.equal(64);
    expect(r.stderr.join('\n')).to.match(/--user nobody: only root can switch users \(running as uid \d+\)/);
  });

  it('serves the sockets systemd passes (socket activation, IPv4 and IPv6)', async function () {
    if (!hasCommand('systemd-socket-activate')) {
      skipBecause(this, "systemd-socket-activate is missing (Debian's systemd package)");
    }
    const port4 = await freeUdpPort('127.0.77.8');
    const ipv6 = await freeUdpPort('::1').then(
      (p) => p,
      () => undefined,
    );
    const listen = ['-l', `127.0.77.8:${port4}`, ...(ipv6 !== undefined ? ['-l', `[::1]:${ipv6}`] : [])];
    // systemd-socket-activate passes only the variables it is told to: keep the I/O path of this run.
    const io = process.env['ECHOLOT_IO'] !== undefined ? [`--setenv=ECHOLOT_IO`] : [];
    const r = run('systemd-socket-activate', [
      '--datagram',
      ...io,
      ...listen,
      '--fdname=echo',
      process.execPath,
      MAIN,
      'serve',
    ]);
    await waitForLine(r.stderr, /^Listening on 127\.0\.77\.8/, 'systemd-socket-activate to listen');
    // The first datagram starts the server; it stays queued on the socket and is echoed once the server runs.
    expect(
      (await echoOnce(port4, Buffer.from('736f636b6574', 'hex'), '127.0.77.8')).toString('hex'),
    ).to.equal('736f636b6574');
    await waitForLine(r.stderr, /socket activation: serving \d inherited socket/, 'the activation line');
    const [, , addresses] = await waitForLine(r.stdout, LISTENING, 'the listening line');
    expect(addresses).to.include('127.0.77.8');
    if (ipv6 !== undefined) {
      expect(addresses).to.include('::1');
      expect((await echoOnce(ipv6, Buffer.from('7636', 'hex'), '::1')).toString('hex')).to.equal('7636');
    }
    r.child.kill('SIGTERM');
    expect((await within(r.exited, 3000, 'exit')).code).to.equal(0);
    const [, received] = await waitForLine(r.stdout, SUMMARY, 'the summary line');
    expect(Number(received)).to.equal(ipv6 !== undefined ? 2 : 1);
  });

  it('takes descriptors only when LISTEN_PID is its own, and refuses --port/--bind under activation', async () => {
    const env = { LISTEN_PID: '1234', LISTEN_FDS: '2', LISTEN_FDNAMES: 'a:b' };
    expect(listenFdsFromEnv(env, 1234)).to.deep.equal({ fds: [3, 4], names: ['a', 'b'] });
    expect(listenFdsFromEnv(env, 999), 'descriptors meant for another process').to.equal(undefined);
    expect(listenFdsFromEnv({}, 1234)).to.equal(undefined);
    // exec keeps the shell's pid, so LISTEN_PID=$$ names the server process.
    const r = run('sh', [
      '-c',
      'LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" "$1" serve --port 0',
      process.execPath,
      MAIN,
    ]);
    const { code } = await within(r.exited, WAIT_MS, 'exit');
    expect(code).to.equal(64);
    expect(r.stderr.join('\n')).to.include('--port and --bind do not apply under socket activation');
  });

  it('ships a unit and a socket that pass systemd-analyze verify', function () {
    if (!hasCommand('systemd-analyze'))
      skipBecause(this, "systemd-analyze is missing (Debian's systemd package)");
    const dir = mkdtempSync(join(tmpdir(), 'echolot-units-'));
    try {
      // The unit names /usr/local/bin/echolot (npm install -g); verify checks that it exists, so point it here.
      const unit = readFileSync(join(UNIT_DIR, 'echolot.service'), 'utf8');
      expect(unit).to.include('ExecStart=/usr/local/bin/echolot serve');
      writeFileSync(
        join(dir, 'echolot.service'),
        unit.replace('/usr/local/bin/echolot', `${process.execPath} ${MAIN}`),
      );
      copyFileSync(join(UNIT_DIR, 'echolot.socket'), join(dir, 'echolot.socket'));
      const r = spawnSync(
        'systemd-analyze',
        ['verify', join(dir, 'echolot.service'), join(dir, 'echolot.socket')],
        {
          encoding: 'utf8',
          cwd: dir,
          timeout: 15000,
        },
      );
      // Unknown keys and bad values are only warnings (exit 0): any line naming our units is a failure too.
      const complaints = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.includes('echolot.'));
      expect(complaints).to.deep.equal([]);
      expect(r.status).to.equal(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('logs JSON records with levels on stdout with --log-format json', async () => {
    const r = serve([
      '--port',
      '0',
      '--bind',
      '127.0.0.1',
      '--log-format',
      'json',
      '--metrics',
      '127.0.0.1:0',
    ]);
    const listening = await waitForLine(r.stdout, /"event":"listening"/, 'the listening record');
    const record = JSON.parse(listening.input!) as Record<string, unknown>;
    expect(record).to.include({ level: 'info', event: 'listening', name: 'echolot-serve' });
    expect(record['time']).to.be.a('string');
    const port = record['port'] as number;
    await echoOnce(port, Buffer.from('6a736f6e', 'hex'));
    const metrics = await waitForLine(r.stdout, /"event":"metrics"/, 'the metrics record');
    const url = (JSON.parse(metrics.input!) as { url: string }).url;
    const body = await (await fetch(url)).text();
    expect(body).to.match(/^echolot_datagrams_echoed_total\{family="ipv4"\} 1$/m);
    r.child.kill('SIGTERM');
    expect((await within(r.exited, 3000, 'exit')).code).to.equal(0);
    const stopped = await waitForLine(r.stdout, /"event":"stopped"/, 'the stopped record');
    expect(JSON.parse(stopped.input!)).to.include({ received: 1, echoed: 1 });
    expect(r.stderr.filter((l) => l !== '')).to.deep.equal([]);
    for (const line of r.stdout.filter((l) => l !== '')) expect(() => JSON.parse(line)).to.not.throw();
  });
});

function readSysctl(path: string): number | undefined {
  try {
    return Number(readFileSync(path, 'utf8').trim());
  } catch {
    return undefined;
  }
}
