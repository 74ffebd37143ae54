import { spawn, spawnSync } from 'node:child_process';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { EchoClient } from '../harness/net/echo-client.js';
import { NativeClient } from '../harness/net/native-client.js';
import { nativeIo } from '../harness/net/native-io.js';
import { startReferenceServer } from '../reference-server/index.js';

const MAIN = fileURLToPath(new URL('../harness/cli/main.js', import.meta.url));

function skipBecause(ctx: Mocha.Context, reason: string): never {
  ctx.test!.title += ` (skipped: ${reason})`;
  ctx.skip();
}

function requireNative(ctx: Mocha.Context): void {
  if (nativeIo() === undefined)
    skipBecause(ctx, 'the native I/O module is not in use (not built, or ECHOLOT_IO=dgram)');
}

describe('native I/O: reference server on wildcard sockets', function () {
  this.timeout(10_000);

  it('echoes a batch of 500 datagrams in C, each byte-exact, and counts them', async function () {
    requireNative(this);
    const server = await startReferenceServer({ port: 0, bind: ['all'] });
    const client = await EchoClient.open({ family: 'IPv4', bufferBytes: 1 << 20 });
    try {
      expect(server.io).to.equal('native');
      const sent = Array.from({ length: 500 }, (_, i) => Buffer.from(`datagram ${i} `.repeat(1 + (i % 7))));
      // Groups of 50 stay well inside the default socket buffers, so any loss would be the server's.
      const got = [];
      for (let g = 0; g < sent.length; g += 50) {
        await Promise.all(
          sent.slice(g, g + 50).map((d) => client.send(d, { address: '127.0.0.1', port: server.port })),
        );
        got.push(...(await client.drain(100)));
      }
      got.push(...(await client.drain(200)));
      expect(got.map((d) => d.data.toString()).sort()).to.deep.equal(sent.map((d) => d.toString()).sort());
      expect(got.every((d) => d.from.address === '127.0.0.1' && d.from.port === server.port)).to.equal(true);
      const s = server.stats();
      expect(s).to.include({ received: 500, echoed: 500, droppedByPolicy: 0, errors: 0 });
      expect(s.bytesOut).to.equal(sent.reduce((n, d) => n + d.length, 0));
    } finally {
      await client.close();
      await server.close();
    }
  });

  it('answers a 127/8 alias it was never told about from that alias (IP_PKTINFO), with bind all', async function () {
    requireNative(this);
    if (process.platform !== 'linux') skipBecause(this, '127/8 aliases are local only on Linux');
    const server = await startReferenceServer({ port: 0, bind: ['all'] });
    try {
      for (const alias of ['127.0.0.2', '127.3.4.5']) {
        const client = await EchoClient.open({ family: 'IPv4' });
        try {
          await client.send(Buffer.from(alias), { address: alias, port: server.port });
          const o = await client.receive(2000);
          expect(o.kind).to.equal('datagram');
          if (o.kind === 'datagram') {
            expect(o.datagram.from).to.include({ address: alias, port: server.port });
            expect(o.datagram.data.toString()).to.equal(alias);
          }
        } finally {
          await client.close();
        }
      }
    } finally {
      await server.close();
    }
  });

  it('with explicit addresses only, leaves the other destinations to the kernel (port unreachable)', async function () {
    requireNative(this);
    if (process.platform !== 'linux') skipBecause(this, '127/8 aliases are local only on Linux');
    const server = await startReferenceServer({ port: 0, bind: ['127.0.0.1'] });
    const client = await EchoClient.open({ family: 'IPv4' });
    try {
      // A wildcard socket would swallow the request in silence; per-address sockets let ICMP tell the client.
      expect(server.io).to.equal('native');
      await client.send(Buffer.from('x'), { address: '127.0.0.9', port: server.port });
      expect((await client.receive(300)).kind).to.not.equal('datagram');
      expect(server.stats()).to.include({ received: 0, echoed: 0 });
    } finally {
      await client.close();
      await server.close();
    }
  });
});

describe('native I/O: reference server policy and socket activation', function () {
  this.timeout(15_000);

  it('drops denied and rate-limited sources on wildcard sockets, by reason, and answers the rest', async function () {
    requireNative(this);
    if (process.platform !== 'linux') skipBecause(this, '127/8 aliases are local only on Linux');
    const server = await startReferenceServer({
      port: 0,
      bind: ['all'],
      deny: ['127.0.0.14'],
      rateLimit: 1,
      rateBurst: 3,
    });
    const denied = await udp4('127.0.0.14');
    const limited = await udp4('127.0.0.15');
    try {
      expect(server.io).to.equal('native');
      expect(server.gauges().sockets).to.be.at.most(2);
      expect(await replies(denied, server.port, 2)).to.equal(0);
      // Ten at once from one source: the bucket of three answers three, the rest are throttled.
      expect(await replies(limited, server.port, 10)).to.equal(3);
      const d = server.detailedStats().udp4;
      expect(d.dropped).to.include({ denied: 2, 'rate-source': 7, 'loop-port': 0, 'own-port': 0 });
      expect(d).to.include({ received: 12, echoed: 3 });
      expect(server.stats()).to.include({ received: 12, echoed: 3, droppedByPolicy: 9 });
      expect(server.gauges().trackedSources).to.equal(2);
    } finally {
      denied.close();
      limited.close();
      await server.close();
    }
  });

  it('adopts inherited wildcard descriptors (socket activation) and replies from each destination', async function () {
    requireNative(this);
    if (spawnSync('systemd-socket-activate', ['--version']).status !== 0) {
      skipBecause(this, "systemd-socket-activate is missing (Debian's systemd package)");
    }
    if (process.platform !== 'linux') skipBecause(this, '127/8 aliases are local only on Linux');
    const port4 = await freePort('udp4', '0.0.0.0');
    const port6 = await freePort('udp6', '::');
    if (port6 === undefined || port4 === undefined) skipBecause(this, 'IPv6 is not available here');
    // `-l PORT` binds [::]:PORT with IPv6-only off (systemd's default): one descriptor for both families.
    const child = spawn(
      'systemd-socket-activate',
      ['--datagram', '-l', `0.0.0.0:${port4}`, '-l', String(port6), process.execPath, MAIN, 'serve'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const client = await udp4('127.0.0.1');
    try {
      const deadline = Date.now() + 5000;
      while (!/Listening on \[::\]/.test(stderr) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      // The first datagram starts the server and waits on the socket from before IP_PKTINFO was set on it.
      const sends: [string, number][] = [
        ['127.0.0.16', port4],
        ['127.0.0.17', port4],
        ['127.0.0.18', port6],
        ['127.0.0.1', port6],
      ];
      for (const [to, port] of sends) {
        const reply = await echo(client, to, port, 5000);
        expect(reply, `reply via ${to}:${port}`).to.deep.equal({ address: to, data: to });
      }
    } finally {
      client.close();
      child.kill('SIGTERM');
      await new Promise((r) => {
        if (child.exitCode !== null) r(undefined);
        else child.once('exit', r);
      });
    }
    expect(stdout).to.match(/received 4, echoed 4, dropped by policy 0/);
  });
});

async function freePort(type: 'udp4' | 'udp6', address: string): Promise<number | undefined> {
  const probe = createSocket(type === 'udp6' ? { type, ipv6Only: true } : { type });
  try {
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.bind({ address, port: 0 }, () => resolve());
    });
    return probe.address().port;
  } catch {
    return undefined;
  } finally {
    probe.close();
  }
}

function udp4(address: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createSocket({ type: 'udp4' });
    s.once('error', reject);
    s.bind({ address, port: 0 }, () => resolve(s));
  });
}

/** Sends `count` datagrams to 127.0.0.1:port at once and counts the replies within 400 ms. */
async function replies(socket: Socket, port: number, count: number): Promise<number> {
  let n = 0;
  const onMessage = (): void => void n++;
  socket.on('message', onMessage);
  for (let i = 0; i < count; i++) socket.send(Buffer.from(`d${i}`), port, '127.0.0.1');
  await new Promise((r) => setTimeout(r, 400));
  socket.off('message', onMessage);
  return n;
}

/** One request to `to`:port; the first reply's source address and text, or undefined after timeoutMs. */
function echo(
  socket: Socket,
  to: string,
  port: number,
  timeoutMs: number,
): Promise<{ address: string; data: string } | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      socket.off('message', onMessage);
      resolve(undefined);
    }, timeoutMs);
    function onMessage(data: Buffer, from: RemoteInfo): void {
      clearTimeout(timer);
      socket.off('message', onMessage);
      resolve({ address: from.address, data: data.toString() });
    }
    socket.on('message', onMessage);
    socket.send(Buffer.from(to), port, to);
  });
}

describe('native I/O: client sockets', function () {
  this.timeout(10_000);

  it('sends a batch with one flush and receives every reply in batches', async function () {
    requireNative(this);
    const server = await startReferenceServer({ port: 0, bind: ['127.0.0.1'] });
    const got: string[] = [];
    const client = NativeClient.open(
      { family: 'IPv4', connect: { address: '127.0.0.1', port: server.port }, maxSend: 64 },
      (data) => got.push(data.toString()),
    );
    try {
      expect(client).to.not.equal(undefined);
      for (let i = 0; i < 200; i++) {
        const slot = client!.slot();
        const n = slot.write(`probe-${i}`);
        client!.commit(n);
      }
      const deadline = Date.now() + 2000;
      while (got.length < 200 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(got.sort()).to.deep.equal(Array.from({ length: 200 }, (_, i) => `probe-${i}`).sort());
    } finally {
      await client?.close();
      await server.close();
    }
  });
});

describe('native I/O: forced fallback', function () {
  this.timeout(20_000);

  it('ECHOLOT_IO=dgram runs on node:dgram and says so in --version', () => {
    const r = spawnSync(process.execPath, [MAIN, '--version'], {
      env: { ...process.env, ECHOLOT_IO: 'dgram' },
      encoding: 'utf8',
    });
    expect(r.status).to.equal(0);
    expect(r.stdout).to.match(/^i\/o: dgram \(node:dgram.*forced by ECHOLOT_IO=dgram\)$/m);
  });

  it('ECHOLOT_IO=dgram makes the server use node:dgram per-address sockets', () => {
    const script = `import { startReferenceServer } from ${JSON.stringify(new URL('../reference-server/index.js', import.meta.url).href)};
      const s = await startReferenceServer({ port: 0, bind: ['127.0.0.1'] }); process.stdout.write(s.io); await s.close();`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, ECHOLOT_IO: 'dgram' },
      encoding: 'utf8',
    });
    expect(r.stdout).to.equal('dgram');
  });

  it('rejects an unknown ECHOLOT_IO value with a usage error', () => {
    const r = spawnSync(process.execPath, [MAIN, '--version'], {
      env: { ...process.env, ECHOLOT_IO: 'fast' },
      encoding: 'utf8',
    });
    expect(r.status).to.equal(64);
    expect(r.stderr).to.include("ECHOLOT_IO=fast: must be 'native' or 'dgram'");
  });
});
