import { spawn, spawnSync } from 'node:child_process';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { probeStatusOf } from '../../harness/load/flows.js';
import { EchoClient } from '../../harness/net/echo-client.js';
import { NativeClient } from '../../harness/net/native-client.js';
import { nativeIo, PROBE_ROW_STRIDE, PROBE_STATUS, type IoPath } from '../../harness/net/native-io.js';
import { DEFAULT_LOOP_PORTS } from '../../harness/protocol/constants.js';
import { decodeProbe, encodeProbe, type ProbeDecode } from '../../harness/protocol/probe-codec.js';
import { LISTENING_PATTERN, stopChild, waitForLine } from '../../harness/target/child-server.js';
import { startReferenceServer } from '../../reference-server/index.js';
import { skipBecause } from '../helpers/skip.js';

const MAIN = fileURLToPath(new URL('../../harness/cli/main.js', import.meta.url));

function requireNative(ctx: Mocha.Context): void {
  if (nativeIo() === undefined)
    skipBecause(ctx, 'the native I/O module is not in use (not built, or ECHOLOT_IO=dgram)');
}

describe('native I/O: reference server on wildcard sockets [io]', function () {
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

describe('native I/O: reference server policy and socket activation [io]', function () {
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

  it('refuses exactly the source ports the node:dgram path refuses: loop ports (default and configured) and its own', async function () {
    requireNative(this);
    // The C filter reads the same refused-port table as policy.ts and checks the own port first, as
    // echo-socket.ts does; one server on each path, the same senders, the same ports must go unanswered.
    const root = process.getuid?.() === 0;
    if (!root) this.test!.title += ' (default loop ports left out: binding them as source ports needs root)';
    const from = '127.0.0.86';
    const sources: Socket[] = [];
    const servers: ServeChild[] = [];
    try {
      // Every default but 0 (no datagram comes from port 0) and its neighbours, which must be answered.
      const low = root
        ? [...new Set(DEFAULT_LOOP_PORTS.filter((p) => p > 0).flatMap((p) => [p - 1, p, p + 1]))]
        : [];
      for (const p of low) sources.push(await udp4(from, p));
      const configured = await udp4(from);
      sources.push(configured, await udp4(from));
      const loopPorts = [...DEFAULT_LOOP_PORTS, configured.address().port];
      for (const io of ['native', 'dgram'] as const) servers.push(await serveChild(io, loopPorts));
      // Each server's own port number from another address: the other server answers it.
      for (const s of servers) sources.push(await udp4(from, s.port));

      const answered = new Map(servers.map((s) => [s.port, new Set<number>()]));
      for (const socket of sources) {
        const port = socket.address().port;
        socket.on('message', (_data, rinfo) => answered.get(rinfo.port)?.add(port));
        for (const s of servers) socket.send(Buffer.from(`from ${port}`), s.port, '127.0.0.1');
      }
      const ports = sources.map((s) => s.address().port);
      const refusedBy = (s: ServeChild): (number | string)[] =>
        ports.filter((p) => !answered.get(s.port)?.has(p)).map((p) => (p === s.port ? 'own port' : p));
      const expected = [...ports.filter((p) => loopPorts.includes(p)), 'own port'];
      const deadline = Date.now() + 3000;
      while (servers.some((s) => refusedBy(s).length > expected.length) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 10));
      }
      // A little longer, so a reply that must not come has the time to.
      await new Promise((r) => setTimeout(r, 200));
      const refused = Object.fromEntries(servers.map((s) => [s.io, refusedBy(s)]));
      expect(refused).to.deep.equal({ native: expected, dgram: expected });
      // The refused datagrams did arrive: received, then dropped by policy.
      const stopped = servers.splice(0);
      const outputs = await Promise.all(stopped.map((s) => s.stop()));
      const echoed = ports.length - expected.length;
      const summary = `received ${ports.length}, echoed ${echoed}, dropped by policy ${expected.length}`;
      stopped.forEach((s, i) => expect(outputs[i], s.io).to.include(summary));
    } finally {
      for (const s of sources) s.close();
      await Promise.all(servers.map((s) => s.stop()));
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

function udp4(address: string, port = 0): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createSocket({ type: 'udp4' });
    s.once('error', reject);
    s.bind({ address, port }, () => resolve(s));
  });
}

/** `echolot serve` on 127.0.0.1 in a child process on one I/O path. */
interface ServeChild {
  readonly io: IoPath;
  readonly port: number;
  /** Stops the child (SIGTERM) and returns its stdout, the summary line included. */
  stop(): Promise<string>;
}

async function serveChild(io: IoPath, loopPorts: readonly number[]): Promise<ServeChild> {
  const args = ['serve', '--port', '0', '--bind', '127.0.0.1', '--loop-ports', loopPorts.join(',')];
  const child = spawn(process.execPath, [MAIN, ...args], {
    env: { ...process.env, ECHOLOT_IO: io },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  const stop = async (): Promise<string> => {
    await stopChild(child);
    return stdout;
  };
  try {
    return { io, port: Number((await waitForLine(child, LISTENING_PATTERN))[1]), stop };
  } catch (err) {
    await stop();
    throw err;
  }
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

describe('native I/O: client sockets [io]', function () {
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

/** decodeProbe's verdict as the status and fields of a native receive row. */
function expectedRow(d: ProbeDecode): number[] {
  if (d.kind === 'foreign') return [PROBE_STATUS.foreign, 0, 0, 0, 0];
  const p = d.kind === 'probe' ? d : d.probe;
  const status = probeStatusOf(d);
  return [status, p?.flow ?? 0, p?.seq ?? 0, p?.intendedNs ?? 0, p?.actualNs ?? 0];
}

describe('native I/O: load probes in C [io]', function () {
  this.timeout(10_000);

  it('encodes probes byte for byte as encodeProbe does, and judges every mangled reply as decodeProbe does', async function () {
    requireNative(this);
    const runId = Uint8Array.from([9, 8, 7, 6, 5, 4, 3, 2]);
    const otherRun = Uint8Array.from([9, 8, 7, 6, 5, 4, 3, 1]);
    const flowId = 0x1234;
    const probes = [
      { seq: 0, intendedNs: 1, actualNs: 2, length: 48 },
      { seq: 1, intendedNs: 123_456_789_012_345, actualNs: 123_456_789_012_999, length: 51 },
      { seq: 2 ** 40 + 7, intendedNs: 2 ** 53 - 1, actualNs: 2 ** 52, length: 64 },
      { seq: 3, intendedNs: 5e14, actualNs: 5e14 + 3, length: 1200 },
    ];
    const server = createSocket('udp4');
    await new Promise<void>((r) => server.bind(0, '127.0.0.1', r));
    const expected: number[][] = [];
    const encodingDiffers: number[] = [];
    let received = 0;
    // Each probe comes back as itself and as a list of mangled copies; decodeProbe says what each one is.
    server.on('message', (msg, rinfo) => {
      const p = probes[received++];
      if (p === undefined) return;
      const want = Buffer.alloc(p.length);
      encodeProbe(want, { runId, flow: flowId, ...p });
      if (!want.equals(msg)) encodingDiffers.push(p.seq);
      const variants: Buffer[] = [Buffer.from(msg), Buffer.concat([msg, Buffer.from([0])])];
      for (const k of [0, 1, 2, 3, 4, 5, 8, 15, 16, 47, msg.length - 1]) variants.push(msg.subarray(0, k));
      variants.push(Buffer.from('EX'), Buffer.from('ECX'));
      const stepped = msg.length > 100 ? 97 : 1;
      for (let j = 0; j < msg.length; j += j < 64 ? 1 : stepped) {
        const v = Buffer.from(msg);
        v[j] = (v[j] as number) ^ 0x01;
        variants.push(v);
      }
      const foreignRun = Buffer.from(msg);
      foreignRun.set(otherRun, 8);
      variants.push(foreignRun);
      // Another flow of this run: judged from scratch, not from this flow's header prefix and hash states.
      const otherFlow = Buffer.alloc(p.length);
      encodeProbe(otherFlow, { runId, flow: flowId + 1, ...p });
      const otherFlowFlipped = Buffer.from(otherFlow);
      otherFlowFlipped[p.length - 1] = (otherFlowFlipped[p.length - 1] as number) ^ 0x01;
      variants.push(otherFlow, otherFlow.subarray(0, p.length - 1), otherFlowFlipped);
      for (const v of variants) {
        expected.push(expectedRow(decodeProbe(v, runId)));
        server.send(v, rinfo.port, rinfo.address);
      }
    });
    const got: number[][] = [];
    const client = NativeClient.open(
      {
        family: 'IPv4',
        connect: { address: '127.0.0.1', port: server.address().port },
        maxSend: 1200,
        recvBufferBytes: 1 << 21,
        probes: {
          runId,
          flow: flowId,
          onRows: (rows, start, count) => {
            for (let i = start; i < start + count; i++) {
              got.push(Array.from(rows.subarray(i * PROBE_ROW_STRIDE, i * PROBE_ROW_STRIDE + 5)));
            }
          },
        },
      },
      () => undefined,
    );
    try {
      expect(client).to.not.equal(undefined);
      for (const p of probes) client!.sendProbe(p.seq, p.intendedNs, p.actualNs, p.length);
      const deadline = Date.now() + 3000;
      while ((received < probes.length || got.length < expected.length) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(encodingDiffers).to.deep.equal([]);
      expect(received).to.equal(probes.length);
      expect(got.length).to.equal(expected.length);
      // Every status occurs, so no verdict of the C decoder goes unchecked.
      expect(new Set(expected.map((e) => e[0]))).to.deep.equal(new Set(Object.values(PROBE_STATUS)));
      for (let i = 0; i < expected.length; i++) expect(got[i], `datagram ${i}`).to.deep.equal(expected[i]);
    } finally {
      await client?.close();
      server.close();
    }
  });

  it('sends a batch of equal-length probes (UDP GSO where the kernel has it) as separate datagrams, byte for byte', async function () {
    requireNative(this);
    const runId = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    const server = createSocket('udp4');
    await new Promise<void>((r) => server.bind(0, '127.0.0.1', r));
    const got: Buffer[] = [];
    server.on('message', (msg) => got.push(msg));
    const client = NativeClient.open(
      {
        family: 'IPv4',
        connect: { address: '127.0.0.1', port: server.address().port },
        maxSend: 300,
        probes: { runId, flow: 3, onRows: () => undefined },
      },
      () => undefined,
    );
    // 150 of 200 bytes in one flush (more than one GSO send), then lengths that differ (sendmmsg).
    const lengths = [...Array.from({ length: 150 }, () => 200), 48, 300, 48];
    try {
      expect(client).to.not.equal(undefined);
      lengths.forEach((length, seq) => {
        client!.sendProbe(seq, 1000 + seq, 2000 + seq, length);
        if (seq === 149) client!.flush();
      });
      const deadline = Date.now() + 3000;
      while (got.length < lengths.length && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 10));
      expect(got.map((g) => g.length)).to.deep.equal(lengths);
      got.forEach((g, seq) => {
        const want = Buffer.alloc(lengths[seq] as number);
        encodeProbe(want, {
          runId,
          flow: 3,
          seq,
          intendedNs: 1000 + seq,
          actualNs: 2000 + seq,
          length: want.length,
        });
        expect(g.equals(want), `probe ${seq}`).to.equal(true);
      });
    } finally {
      await client?.close();
      server.close();
    }
  });
});

describe('native I/O: the probe group (all probe clients of a thread in one epoll set) [io]', function () {
  this.timeout(10_000);
  const runId = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);

  /** Opens a probe client on 127.0.0.1:port whose rows (flow, seq) and faults are collected. */
  function probeClient(
    port: number,
    flow: number,
    rows: [number, number][],
    faults: string[],
    onRows?: () => void,
  ): NativeClient {
    const client = NativeClient.open(
      {
        family: 'IPv4',
        connect: { address: '127.0.0.1', port },
        maxSend: 64,
        probes: {
          runId,
          flow,
          onRows: (r, start, count) => {
            for (let i = start; i < start + count; i++) {
              const o = i * PROBE_ROW_STRIDE;
              expect(r[o], `status of row ${i}`).to.equal(PROBE_STATUS.probe);
              rows.push([r[o + 1] as number, r[o + 2] as number]);
            }
            onRows?.();
          },
        },
      },
      () => undefined,
    );
    expect(client).to.not.equal(undefined);
    client!.onFaults((errno) => faults.push(errno));
    return client!;
  }

  async function until(done: () => boolean, ms = 3000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  }

  it('hands each client exactly its own replies, many clients at once', async function () {
    requireNative(this);
    const server = await startReferenceServer({ port: 0, bind: ['127.0.0.1'] });
    const rows: [number, number][][] = [];
    const clients: NativeClient[] = [];
    try {
      for (let f = 0; f < 12; f++) {
        rows.push([]);
        clients.push(probeClient(server.port, 100 + f, rows[f] as [number, number][], []));
      }
      // Rounds of 12 x 5 probes sent in one job (few enough for the default socket buffers): the replies
      // of every client come back through the same wake-ups.
      for (let round = 0; round < 8; round++) {
        for (let k = 0; k < 5; k++) {
          const seq = round * 5 + k;
          clients.forEach((c, f) => c.sendProbe(seq, 1000 + f, 2000 + f, 48 + (seq % 16)));
        }
        await until(() => rows.every((r) => r.length >= (round + 1) * 5));
      }
      await until(() => rows.every((r) => r.length >= 40));
      rows.forEach((r, f) => {
        expect(r.map(([flow]) => flow)).to.deep.equal(Array(40).fill(100 + f));
        expect(r.map(([, seq]) => seq).sort((a, b) => a - b)).to.deep.equal(
          Array.from({ length: 40 }, (_, i) => i),
        );
      });
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      await server.close();
    }
  });

  it('survives a client closed while another client handles its rows, and serves the rest', async function () {
    requireNative(this);
    const server = await startReferenceServer({ port: 0, bind: ['127.0.0.1'] });
    const a: [number, number][] = [];
    const b: [number, number][] = [];
    const c: [number, number][] = [];
    const closeOnRows: NativeClient[] = [];
    const first = probeClient(server.port, 1, a, [], () => void closeOnRows[0]?.close());
    const victim = probeClient(server.port, 2, b, []);
    closeOnRows.push(victim);
    const third = probeClient(server.port, 3, c, []);
    try {
      for (let seq = 0; seq < 20; seq++) for (const x of [first, victim, third]) x.sendProbe(seq, 1, 2, 48);
      await until(() => a.length >= 20 && c.length >= 20);
      expect(a).to.have.length(20);
      expect(c).to.have.length(20);
      // Once closed, the victim hears nothing more; what it heard came before the close.
      const heard = b.length;
      first.sendProbe(20, 1, 2, 48);
      third.sendProbe(20, 1, 2, 48);
      await until(() => a.length >= 21 && c.length >= 21);
      expect(b).to.have.length(heard);
      expect(victim.pending).to.equal(0);
    } finally {
      await Promise.all([first, victim, third].map((x) => x.close()));
      await server.close();
    }
  });

  it('reports an ICMP port unreachable to the client it belongs to', async function () {
    requireNative(this);
    const server = await startReferenceServer({ port: 0, bind: ['127.0.0.1'] });
    // A port nobody listens on: bound once, then closed.
    const gone = createSocket('udp4');
    await new Promise<void>((r) => gone.bind(0, '127.0.0.1', r));
    const deadPort = gone.address().port;
    await new Promise<void>((r) => gone.close(() => r()));
    const liveRows: [number, number][] = [];
    const liveFaults: string[] = [];
    const deadFaults: string[] = [];
    const live = probeClient(server.port, 1, liveRows, liveFaults);
    const dead = probeClient(deadPort, 2, [], deadFaults);
    try {
      dead.sendProbe(0, 1, 2, 48);
      live.sendProbe(0, 1, 2, 48);
      await until(() => deadFaults.length > 0 && liveRows.length > 0);
      expect(deadFaults).to.deep.equal(['ECONNREFUSED']);
      expect(liveFaults).to.deep.equal([]);
      expect(liveRows).to.deep.equal([[1, 0]]);
    } finally {
      await Promise.all([live.close(), dead.close()]);
      await server.close();
    }
  });
});

describe('native I/O: forced fallback [io]', function () {
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
    const script = `import { startReferenceServer } from ${JSON.stringify(new URL('../../reference-server/index.js', import.meta.url).href)};
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
