import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

/** dist/test/serve-cli.test.js -> dist/harness/cli/main.js */
const MAIN = fileURLToPath(new URL('../harness/cli/main.js', import.meta.url));
/** Upper bound for any single wait on the child, so a broken build fails instead of hanging. */
const WAIT_MS = 5000;

const LISTENING =
  /^echolot serve: listening on udp port (\d+) at (.+) \(loop protection: source ports ([\d,]+) and the server's own port\)$/;
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
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
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

function echoOnce(port: number, payload: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket: Socket = createSocket('udp4');
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
    socket.bind(0, '127.0.0.1', () => socket.send(payload, port, '127.0.0.1'));
  });
}

function skipBecause(ctx: Mocha.Context, reason: string): never {
  if (ctx.test !== undefined) ctx.test.title += ` (skipped: ${reason})`;
  ctx.skip();
}

describe('echolot serve', function () {
  this.timeout(15000);

  after(() => {
    for (const child of running) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  it('prints the listening line, echoes, and on SIGTERM prints the summary and exits 0 within 2 s', async () => {
    const r = serve(['--port', '0', '--bind', '127.0.0.1']);
    const [, port, addresses, loopPorts] = await waitForLine(r.stdout, LISTENING, 'the listening line');
    expect(addresses).to.equal('127.0.0.1');
    expect(loopPorts).to.equal('0,7,9,13,19,37');
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

  it('shows only source port 0 as refused with --loop-ports none', async () => {
    const r = serve(['--port', '0', '--bind', '127.0.0.1', '--loop-ports', 'none']);
    const [, , , loopPorts] = await waitForLine(r.stdout, LISTENING, 'the listening line');
    expect(loopPorts).to.equal('0');
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
    for (const text of ['--port', '--bind', '--loop-ports', '--max-inflight', '--quiet', '-h, --help']) {
      expect(help).to.include(text);
    }
    for (const text of ['default 7', 'default: all', 'default 0,7,9,13,19,37', 'default 1024']) {
      expect(help).to.include(text);
    }
    for (const exit of ['64', '69', '70', '77']) expect(help).to.include(exit);
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

function readSysctl(path: string): number | undefined {
  try {
    return Number(readFileSync(path, 'utf8').trim());
  } catch {
    return undefined;
  }
}
