import { spawnSync } from 'node:child_process';
import { createSocket, type RemoteInfo, type Socket, type SocketType } from 'node:dgram';
import type { NetworkInterfaceInfo } from 'node:os';
import { expect } from 'chai';
import { HarnessError } from '../../harness/errors.js';
import { ioPath } from '../../harness/net/native-io.js';
import {
  resolveServeOptions,
  startReferenceServer,
  type ReferenceServer,
  type ServerStats,
} from '../../reference-server/index.js';
import { startReferenceServerIn } from '../../reference-server/server.js';
import { startMetricsServer } from '../../reference-server/metrics.js';
import { staticCapabilities } from '../../harness/net/capabilities.js';
import { createTestHost } from '../../harness/testhost/netns.js';
import { skipBecause } from '../helpers/skip.js';
import { lintExposition } from '../helpers/prom-lint.js';

/**
 * Runs in a test host: sends from the server's own port number, then from an ephemeral port, and prints how
 * many replies each got. argv: own address, server address, server port.
 */
const PEER_SCRIPT = `
const dgram = require('node:dgram');
const [addr, server, port] = process.argv.slice(1);
async function count(localPort) {
  const s = dgram.createSocket('udp4');
  await new Promise((r) => s.bind({ address: addr, port: localPort }, r));
  let n = 0;
  s.on('message', () => n++);
  s.send(Buffer.from('peer'), Number(port), server);
  await new Promise((r) => setTimeout(r, 700));
  s.close();
  return n;
}
(async () => {
  const own = await count(Number(port));
  const control = await count(0);
  process.stdout.write('own-port replies ' + own + '; control replies ' + control + '\\n');
})();
`;

/** How long to wait for a reply before calling it lost. */
const REPLY_TIMEOUT_MS = 2000;
/** How long to keep listening after the first reply to catch a duplicate. */
const GRACE_MS = 150;
/**
 * How long to listen for a reply that must not come. Short is safe: each such test then gets a reply from a
 * control request and checks the stats, which proves the refused datagram was received and dropped.
 */
const SILENCE_MS = 300;

interface Reply {
  readonly data: Buffer;
  readonly from: RemoteInfo;
}

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

function bindSocket(type: SocketType, address: string, port = 0): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(type === 'udp6' ? { type, ipv6Only: true } : { type });
    const timer = setTimeout(() => reject(new Error(`bind ${address}:${port} timed out`)), REPLY_TIMEOUT_MS);
    socket.once('error', (err) => {
      clearTimeout(timer);
      socket.close();
      reject(err);
    });
    socket.bind({ address, port, exclusive: true }, () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      socket.on('error', () => undefined);
      resolve(socket);
    });
  });
}

async function canBind(type: SocketType, address: string): Promise<boolean> {
  try {
    await closeSocket(await bindSocket(type, address));
    return true;
  } catch {
    return false;
  }
}

function closeSocket(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve();
    }
  });
}

/** Sends `payload` and returns every reply: waits up to `timeoutMs` for the first, then GRACE_MS more. */
function exchange(
  socket: Socket,
  payload: Buffer,
  port: number,
  address: string,
  timeoutMs = REPLY_TIMEOUT_MS,
): Promise<Reply[]> {
  return new Promise((resolve, reject) => {
    const replies: Reply[] = [];
    let timer = setTimeout(finish, timeoutMs);
    function finish(): void {
      socket.off('message', onMessage);
      resolve(replies);
    }
    function onMessage(data: Buffer, from: RemoteInfo): void {
      replies.push({ data, from });
      if (replies.length === 1) {
        clearTimeout(timer);
        timer = setTimeout(finish, GRACE_MS);
      }
    }
    socket.on('message', onMessage);
    socket.send(payload, port, address, (err) => {
      if (err) {
        clearTimeout(timer);
        socket.off('message', onMessage);
        reject(err);
      }
    });
  });
}

/** A deterministic payload of `size` bytes whose every offset is distinguishable from its neighbours. */
function pattern(size: number): Buffer {
  const buf = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) buf[i] = (i * 31 + 7) & 0xff;
  return buf;
}

/** `payload` with `n` in its first four bytes: datagrams that differ, as a flood's should for the loop guard. */
function numbered(payload: Buffer, n: number): Buffer {
  payload.writeUInt32BE(n >>> 0, 0);
  return payload;
}

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function expectUsageError(fn: () => unknown, ...fragments: string[]): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).to.be.instanceOf(HarnessError);
  const err = caught as HarnessError;
  expect(err.code).to.equal('ERR_ECHOLOT_USAGE');
  expect(err.exitCode).to.equal(64);
  for (const f of fragments) expect(err.message).to.include(f);
}

async function expectRejection(promise: Promise<unknown>): Promise<HarnessError> {
  try {
    await promise;
  } catch (err) {
    expect(err).to.be.instanceOf(HarnessError);
    return err as HarnessError;
  }
  throw new Error('expected a rejection, but the promise resolved');
}

/** A free UDP port on 127.0.0.1 (bound and released at once; good enough on a quiet test host). */
async function freePort(): Promise<number> {
  const probe = await bindSocket('udp4', '127.0.0.1');
  const port = probe.address().port;
  await closeSocket(probe);
  return port;
}

describe('resolveServeOptions', () => {
  it('applies the documented defaults and freezes the result', () => {
    const r = resolveServeOptions();
    expect(r.port).to.equal(7);
    expect(r.bind).to.deep.equal(['all']);
    expect(r.loopPorts).to.deep.equal([0, 7, 9, 13, 19, 37]);
    expect(r.loopGuard).to.equal(true);
    expect(r.maxInflight).to.equal(1024);
    expect(r.rescanIntervalMs).to.equal(2000);
    expect(Object.isFrozen(r)).to.equal(true);
    expect(Object.isFrozen(r.bind)).to.equal(true);
    expect(Object.isFrozen(r.loopPorts)).to.equal(true);
  });

  it('always refuses source port 0 and sorts and deduplicates loop ports', () => {
    expect(resolveServeOptions({ loopPorts: [] }).loopPorts).to.deep.equal([0]);
    expect(resolveServeOptions({ loopPorts: [19, 7, 19] }).loopPorts).to.deep.equal([0, 7, 19]);
  });

  it('names field, constraint and value of a bad port', () => {
    expectUsageError(
      () => resolveServeOptions({ port: 70000 }),
      'port 70000: must be an integer in 0..65535',
    );
    expectUsageError(() => resolveServeOptions({ port: 1.5 }), 'port 1.5: must be an integer in 0..65535');
  });

  it('collects every problem into one error', () => {
    expectUsageError(
      () =>
        resolveServeOptions({
          port: -1,
          bind: ['nope'],
          loopPorts: [70000],
          maxInflight: 0,
          rescanIntervalMs: 1,
          loopGuard: 'yes' as unknown as boolean,
        }),
      'port -1: must be an integer in 0..65535',
      'bind[0] nope: ',
      'loopPorts[0] 70000: must be an integer in 0..65535',
      'maxInflight 0: must be an integer in 1..',
      'rescanIntervalMs 1: must be an integer in 10..',
      'loopGuard yes: must be true or false',
    );
  });

  it('carries each problem as field path, rule and value received', () => {
    let caught: unknown;
    try {
      resolveServeOptions({ port: -1, bind: ['127.0.0.1', '0.0.0.0'] });
    } catch (err) {
      caught = err;
    }
    expect(caught).to.be.instanceOf(HarnessError);
    expect((caught as HarnessError).problems?.map((p) => [p.path, p.value])).to.deep.equal([
      ['port', -1],
      ['bind[1]', '0.0.0.0'],
    ]);
    expect((caught as HarnessError).problems?.[0]?.message).to.equal('must be an integer in 0..65535');
  });

  it('rejects wildcard addresses and an empty bind list', () => {
    expectUsageError(
      () => resolveServeOptions({ bind: ['0.0.0.0'] }),
      'bind[0] 0.0.0.0: must not be a wildcard',
    );
    expectUsageError(() => resolveServeOptions({ bind: ['::'] }), 'bind[0] ::: must not be a wildcard');
    expectUsageError(() => resolveServeOptions({ bind: [] }), 'bind []: must be a non-empty list');
  });

  it('accepts a scoped IPv6 address and keeps each address once', () => {
    const r = resolveServeOptions({ bind: ['fe80::1%lo', '127.0.0.2', '127.0.0.2', 'all', '::1', '::1'] });
    expect(r.bind).to.deep.equal(['fe80::1%lo', '127.0.0.2', 'all', '::1']);
  });
});

describe('startReferenceServer (embedded default: four addresses, one ephemeral port) [io]', () => {
  let server: ReferenceServer | undefined;
  let client4: Socket | undefined;
  let client6: Socket | undefined;
  let aliases = false;
  let ipv6 = false;
  const wanted: string[] = [];

  before(async () => {
    aliases = (await canBind('udp4', '127.0.0.2')) && (await canBind('udp4', '127.1.2.3'));
    ipv6 = await canBind('udp6', '::1');
    wanted.push('127.0.0.1', ...(aliases ? ['127.0.0.2', '127.1.2.3'] : []), ...(ipv6 ? ['::1'] : []));
    server = await startReferenceServer({ port: 0, bind: wanted });
    client4 = await bindSocket('udp4', '127.0.0.1');
    if (ipv6) client6 = await bindSocket('udp6', '::1');
  });

  after(async () => {
    if (client4) await closeSocket(client4);
    if (client6) await closeSocket(client6);
    await server?.close();
  });

  it('binds every requested address on one shared ephemeral port', () => {
    expect(server!.port).to.be.within(1, 65535);
    expect(server!.addresses()).to.deep.equal(wanted);
  });

  for (const size of [0, 1, 1500, 65507]) {
    it(`echoes a ${size}-byte datagram over IPv4 unchanged, exactly once, from the port it was sent to`, async () => {
      const payload = pattern(size);
      const replies = await exchange(client4!, payload, server!.port, '127.0.0.1');
      expect(replies, 'number of replies').to.have.length(1);
      expect(replies[0]!.data.length).to.equal(size);
      expect(replies[0]!.data.equals(payload), 'reply bytes equal request bytes').to.equal(true);
      expect(replies[0]!.from.port).to.equal(server!.port);
      expect(replies[0]!.from.address).to.equal('127.0.0.1');
    });
  }

  it('echoes NUL, CR, LF, 0xFF and invalid UTF-8 byte for byte', async () => {
    const payload = Buffer.from('00410d0a00fffec0af80200a00', 'hex');
    const replies = await exchange(client4!, payload, server!.port, '127.0.0.1');
    expect(replies).to.have.length(1);
    expect(replies[0]!.data.toString('hex')).to.equal('00410d0a00fffec0af80200a00');
  });

  it('echoes a 65527-byte datagram over IPv6 unchanged, exactly once', async function () {
    if (!ipv6) skipBecause(this, '::1 is not configured on this host');
    const payload = pattern(65527);
    const replies = await exchange(client6!, payload, server!.port, '::1');
    expect(replies).to.have.length(1);
    expect(replies[0]!.data.equals(payload)).to.equal(true);
    expect(replies[0]!.from.address).to.equal('::1');
    expect(replies[0]!.from.port).to.equal(server!.port);
  });

  for (const alias of ['127.0.0.2', '127.1.2.3']) {
    it(`replies from ${alias}, the address the request was sent to`, async function () {
      if (!aliases)
        skipBecause(this, `${alias} is not a local address here (all of 127/8 is local only on Linux)`);
      const replies = await exchange(client4!, Buffer.from('6563686f', 'hex'), server!.port, alias);
      expect(replies).to.have.length(1);
      expect(replies[0]!.from.address).to.equal(alias);
      expect(replies[0]!.from.port).to.equal(server!.port);
    });
  }
});

describe('reference server stats [io]', () => {
  it('counts datagrams and payload bytes in and out', async () => {
    const server = await startReferenceServer({ port: 0, bind: ['127.0.0.1'] });
    const client = await bindSocket('udp4', '127.0.0.1');
    try {
      for (const size of [0, 10, 100]) {
        expect(await exchange(client, pattern(size), server.port, '127.0.0.1')).to.have.length(1);
      }
      const expected: ServerStats = {
        received: 3,
        echoed: 3,
        droppedByPolicy: 0,
        droppedQueueFull: 0,
        errors: 0,
        bytesIn: 110,
        bytesOut: 110,
      };
      expect(server.stats()).to.deep.equal(expected);
    } finally {
      await closeSocket(client);
      await server.close();
    }
  });
});

describe('reference server loop protection [io]', () => {
  it('does not answer source ports 19 and 7 and counts them as dropped by policy', async function () {
    if (!isRoot()) skipBecause(this, 'binding source ports 19 and 7 needs root');
    if (!(await canBind('udp4', '127.0.0.19'))) skipBecause(this, '127.0.0.19 is not a local address here');
    const server = await startReferenceServer({ port: 0, bind: ['127.0.0.1'] });
    const sockets: Socket[] = [];
    try {
      for (const port of [19, 7]) {
        const client = await bindSocket('udp4', '127.0.0.19', port);
        sockets.push(client);
        const replies = await exchange(
          client,
          Buffer.from('6c6f6f70', 'hex'),
          server.port,
          '127.0.0.1',
          SILENCE_MS,
        );
        expect(replies, `replies to source port ${port}`).to.have.length(0);
      }
      const control = await bindSocket('udp4', '127.0.0.19');
      sockets.push(control);
      expect(await exchange(control, Buffer.from('6f6b', 'hex'), server.port, '127.0.0.1')).to.have.length(1);
      const stats = server.stats();
      expect(stats.droppedByPolicy).to.equal(2);
      expect(stats.received).to.equal(3);
      expect(stats.echoed).to.equal(1);
    } finally {
      for (const s of sockets) await closeSocket(s);
      await server.close();
    }
  });

  it('refuses datagrams from its own port number (another echo server on the same port)', async () => {
    // Explicit addresses get one socket each on both paths, so another address may hold the same port.
    const server = await startReferenceServer({ port: 0, bind: ['127.0.0.1'] });
    expect(server.io).to.equal(ioPath());
    // Another address of lo may use the same port number: that is the peer echo server of a loop.
    const twin = await bindSocket('udp4', '127.0.0.5', server.port);
    try {
      const replies = await exchange(
        twin,
        Buffer.from('6563686f', 'hex'),
        server.port,
        '127.0.0.1',
        SILENCE_MS,
      );
      expect(replies).to.have.length(0);
      expect(server.stats()).to.include({ received: 1, echoed: 0, droppedByPolicy: 1 });
      expect(server.detailedStats().udp4.dropped).to.include({ 'own-port': 1, 'loop-port': 0 });
    } finally {
      await closeSocket(twin);
      await server.close();
    }
  });

  it('refuses its own port number from a peer in a network namespace, also with bind all (wildcard on native)', async function () {
    this.timeout(15_000);
    if (!staticCapabilities().netns) skipBecause(this, 'network namespaces need root and the ip command');
    const host = await createTestHost();
    try {
      const server = await startReferenceServer({ port: 0, bind: ['all'] });
      expect(server.io).to.equal(ioPath());
      try {
        // The peer, an echo server's port number on another host, then an ordinary port as the control.
        const peer = host.spawn(process.execPath, [
          '-e',
          PEER_SCRIPT,
          host.address,
          host.hostAddress,
          String(server.port),
        ]);
        let out = '';
        peer.child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
        await new Promise((r) => peer.child.once('exit', r));
        expect(out.trim()).to.equal('own-port replies 0; control replies 1');
        const s = server.detailedStats().udp4;
        expect(s.dropped).to.include({ 'own-port': 1, 'loop-port': 0 });
        expect(s).to.include({ received: 2, echoed: 1 });
      } finally {
        await server.close();
      }
    } finally {
      await host.remove();
    }
  });

  it('refuses a configured loop port without needing privilege', async () => {
    const refusedClient = await bindSocket('udp4', '127.0.0.1');
    const otherClient = await bindSocket('udp4', '127.0.0.1');
    const server = await startReferenceServer({
      port: 0,
      bind: ['127.0.0.1'],
      loopPorts: [refusedClient.address().port],
    });
    try {
      const refused = await exchange(
        refusedClient,
        Buffer.from('01', 'hex'),
        server.port,
        '127.0.0.1',
        SILENCE_MS,
      );
      expect(refused).to.have.length(0);
      expect(await exchange(otherClient, Buffer.from('02', 'hex'), server.port, '127.0.0.1')).to.have.length(
        1,
      );
      expect(server.stats()).to.include({ received: 2, echoed: 1, droppedByPolicy: 1 });
      expect(server.detailedStats().udp4.dropped).to.include({ 'own-port': 0, 'loop-port': 1 });
    } finally {
      await closeSocket(refusedClient);
      await closeSocket(otherClient);
      await server.close();
    }
  });
});

describe('reference server close() [io]', () => {
  it('is idempotent and releases the port', async () => {
    const server = await startReferenceServer({ port: 0, bind: ['127.0.0.1'] });
    const port = server.port;
    await Promise.all([server.close(), server.close()]);
    await server.close();
    expect(server.addresses()).to.deep.equal([]);
    const reuse = await bindSocket('udp4', '127.0.0.1', port);
    expect(reuse.address().port).to.equal(port);
    await closeSocket(reuse);
  });
});

describe('reference server bind errors [io]', () => {
  it('names address and port when the address is already in use', async () => {
    const squatter = await bindSocket('udp4', '127.0.0.1');
    const port = squatter.address().port;
    try {
      const err = await expectRejection(startReferenceServer({ port, bind: ['127.0.0.1'] }));
      expect(err.code).to.equal('ERR_ECHOLOT_BIND');
      expect(err.exitCode).to.equal(69);
      expect(err.message).to.equal(`cannot bind udp 127.0.0.1:${port}: address already in use`);
    } finally {
      await closeSocket(squatter);
    }
  });

  it('names address and port when the address is not local, and releases what it had bound', async () => {
    const port = await freePort();
    // 198.51.100.0/24 is TEST-NET-2: never a local address, and binding sends nothing.
    const err = await expectRejection(startReferenceServer({ port, bind: ['127.0.0.1', '198.51.100.7'] }));
    expect(err.code).to.equal('ERR_ECHOLOT_BIND');
    expect(err.message).to.equal(`cannot bind udp 198.51.100.7:${port}: address not available on this host`);
    const reuse = await bindSocket('udp4', '127.0.0.1', port);
    await closeSocket(reuse);
  });

  it('reports a missing privilege with the permission code and a hint', async function () {
    if (isRoot())
      skipBecause(this, 'running as root, ports below 1024 are allowed (the CLI test covers this)');
    let err: unknown;
    try {
      const server = await startReferenceServer({ port: 7, bind: ['127.0.0.1'] });
      await server.close();
      skipBecause(this, 'this host lets unprivileged processes bind port 7');
    } catch (caught) {
      err = caught;
    }
    if (!(err instanceof HarnessError)) throw err;
    expect(err.code).to.equal('ERR_ECHOLOT_BIND_PERMISSION');
    expect(err.exitCode).to.equal(77);
    expect(err.message).to.match(/^cannot bind udp 127\.0\.0\.1:7: permission denied .*--port 7007.*setcap/);
  });
});

describe('reference server interface re-scan (bind: all) [io]', () => {
  const lo = (address: string): NetworkInterfaceInfo => ({
    address,
    netmask: '255.0.0.0',
    family: 'IPv4',
    mac: '00:00:00:00:00:00',
    internal: true,
    cidr: `${address}/8`,
  });

  it('adds a socket for a new address, drops it when the address goes, and logs both', async function () {
    if (!(await canBind('udp4', '127.0.0.5'))) skipBecause(this, '127.0.0.5 is not a local address here');
    let interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = { lo: [lo('127.0.0.1')] };
    const lines: string[] = [];
    const server = await startReferenceServerIn(
      { port: 0, bind: ['all'], rescanIntervalMs: 20, log: (level, line) => lines.push(`${level} ${line}`) },
      { networkInterfaces: () => interfaces },
    );
    const client = await bindSocket('udp4', '127.0.0.1');
    try {
      expect(server.addresses()).to.deep.equal(['127.0.0.1']);
      interfaces = { lo: [lo('127.0.0.1'), lo('127.0.0.5')] };
      await waitFor(() => server.addresses().includes('127.0.0.5'), 2000, '127.0.0.5 to be served');
      const replies = await exchange(client, Buffer.from('6e6577', 'hex'), server.port, '127.0.0.5');
      expect(replies).to.have.length(1);
      expect(replies[0]!.from.address).to.equal('127.0.0.5');
      interfaces = { lo: [lo('127.0.0.1')] };
      await waitFor(() => !server.addresses().includes('127.0.0.5'), 2000, '127.0.0.5 to be dropped');
      expect(lines).to.include(`info address added: serving udp 127.0.0.5:${server.port}`);
      expect(lines).to.include(`info address gone: stopped serving udp 127.0.0.5:${server.port}`);
    } finally {
      await closeSocket(client);
      await server.close();
    }
  });

  it('skips an interface address that cannot be bound, with one warning', async () => {
    const lines: string[] = [];
    const server = await startReferenceServerIn(
      { port: 0, bind: ['all'], rescanIntervalMs: 20, log: (level, line) => lines.push(`${level} ${line}`) },
      { networkInterfaces: () => ({ lo: [lo('127.0.0.1')], ghost: [lo('198.51.100.7')] }) },
    );
    try {
      expect(server.addresses()).to.deep.equal(['127.0.0.1']);
      await new Promise((r) => setTimeout(r, 100)); // several re-scans
      const warnings = lines.filter((l) => l.startsWith('warn '));
      expect(warnings).to.have.length(1);
      expect(warnings[0]).to.include('198.51.100.7');
    } finally {
      await server.close();
    }
  });

  it('fails when no interface address can be bound', async () => {
    const err = await expectRejection(
      startReferenceServerIn(
        { port: 0, bind: ['all'] },
        { networkInterfaces: () => ({ ghost: [lo('198.51.100.7')] }) },
      ),
    );
    expect(err.code).to.equal('ERR_ECHOLOT_BIND');
    expect(err.message).to.include('198.51.100.7');
  });
});

describe('reference server under a flood [io]', () => {
  it('survives 2000 datagrams with maxInflight 4 and accounts for every datagram it received', async () => {
    const server = await startReferenceServer({ port: 0, bind: ['127.0.0.1'], maxInflight: 4 });
    const client = await bindSocket('udp4', '127.0.0.1');
    client.on('message', () => undefined);
    try {
      let sent = 0;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('sending 2000 datagrams timed out')), 5000);
        for (let i = 0; i < 2000; i++) {
          // Numbered: 2000 copies of one payload back to back would be a loop to the loop guard.
          client.send(numbered(pattern(512), i), server.port, '127.0.0.1', (err) => {
            if (err) reject(err);
            else if (++sent === 2000) {
              clearTimeout(timer);
              resolve();
            }
          });
        }
      });
      const settled = (s: ServerStats): boolean => s.received === s.echoed + s.droppedQueueFull + s.errors;
      let last = -1;
      // Settled = every received datagram accounted for and nothing new arriving.
      await waitFor(
        () => {
          const s = server.stats();
          const quiet = s.received === last;
          last = s.received;
          return quiet && settled(s);
        },
        3000,
        'the flood to settle',
      );
      const s = server.stats();
      expect(s.received).to.be.within(1, 2000);
      expect(s.errors).to.equal(0);
      expect(s.received).to.equal(s.echoed + s.droppedQueueFull);
      expect(s.bytesOut).to.equal(s.echoed * 512);
      // Still alive and answering afterwards (case 10.2).
      const after = await bindSocket('udp4', '127.0.0.1');
      try {
        expect(
          await exchange(after, Buffer.from('616c697665', 'hex'), server.port, '127.0.0.1'),
        ).to.have.length(1);
      } finally {
        await closeSocket(after);
      }
    } finally {
      await closeSocket(client);
      await server.close();
    }
  });
});

describe('reference server access control and rate limits [io]', () => {
  it('throttles a flood from one source above its limit while another source is unaffected', async function () {
    if (!(await canBind('udp4', '127.0.0.10')) || !(await canBind('udp4', '127.0.0.11'))) {
      skipBecause(this, '127.0.0.10/11 are not local addresses here');
    }
    const server = await startReferenceServer({ port: 0, bind: ['127.0.0.1'], rateLimit: 50, rateBurst: 20 });
    // Every feature runs on the path in use (native unless ECHOLOT_IO=dgram or the module is missing).
    expect(server.io).to.equal(ioPath());
    const flooder = await bindSocket('udp4', '127.0.0.10');
    const other = await bindSocket('udp4', '127.0.0.11');
    let flooderReplies = 0;
    flooder.on('message', () => flooderReplies++);
    try {
      const started = Date.now();
      // 1000 datagrams at about 1000/s, twenty times the limit, paced in batches of 20 so the flood does not
      // overflow the server's socket buffer (the kernel would then drop everyone's datagrams, before any policy).
      const flood = (async () => {
        for (let batch = 0; batch < 50; batch++) {
          for (let i = 0; i < 20; i++)
            flooder.send(numbered(pattern(64), batch * 20 + i), server.port, '127.0.0.1');
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      // Meanwhile, the other source, within its own limit, gets every reply.
      for (let i = 0; i < 10; i++) {
        const replies = await exchange(other, pattern(32), server.port, '127.0.0.1');
        expect(replies, `reply ${i} to the other source`).to.have.length(1);
        await new Promise((r) => setTimeout(r, 40));
      }
      await flood;
      await waitFor(() => server.stats().received >= 1010, 3000, 'every datagram to arrive');
      const elapsedS = (Date.now() - started) / 1000;
      const detail = server.detailedStats().udp4;
      // Bucket depth plus the rate over the elapsed time, with slack for timer granularity.
      expect(flooderReplies).to.be.at.most(20 + Math.ceil(50 * elapsedS) + 5);
      expect(flooderReplies).to.be.at.least(20);
      expect(detail.dropped['rate-source']).to.equal(1000 - flooderReplies);
      expect(detail.dropped['rate-global']).to.equal(0);
      expect(detail.echoed).to.equal(flooderReplies + 10);
      expect(server.stats().droppedByPolicy).to.equal(1000 - flooderReplies);
      expect(server.gauges().trackedSources).to.equal(2);
    } finally {
      await closeSocket(flooder);
      await closeSocket(other);
      await server.close();
    }
  });

  it('keeps most replies of a modest client under a global-limit flood from 300 addresses', async function () {
    const floodAddresses = Array.from(
      { length: 300 },
      (_, i) => `127.2.${Math.floor(i / 50)}.${(i % 50) + 1}`,
    );
    if (!(await canBind('udp4', floodAddresses[0]!)) || !(await canBind('udp4', '127.0.0.2'))) {
      skipBecause(this, '127.2.0.1 and 127.0.0.2 are not local addresses here');
    }
    const rate = 1000;
    const server = await startReferenceServer({ port: 0, bind: ['127.0.0.1'], globalRateLimit: rate });
    expect(server.io).to.equal(ioPath());
    const flooders: Socket[] = [];
    const client = await bindSocket('udp4', '127.0.0.2');
    try {
      for (const address of floodAddresses) flooders.push(await bindSocket('udp4', address));
      let floodReplies = 0;
      for (const f of flooders) f.on('message', () => floodReplies++);
      const clientReplies = new Set<number>();
      client.on('message', (data: Buffer) => clientReplies.add(data.readUInt32BE(0)));
      // Every 10 ms, 50 flood datagrams (five times the limit) from the next sockets in turn; every fifth tick
      // the client's datagram (2% of the limit) goes amid them, when the flood has already emptied the bucket.
      const ticks = 300;
      const perTick = 50;
      const payload = pattern(64);
      let next = 0;
      const flood = (n: number): void => {
        for (let i = 0; i < n; i++)
          flooders[next++ % flooders.length]!.send(payload, server.port, '127.0.0.1');
      };
      let clientSent = 0;
      const started = Date.now();
      for (let tick = 0; tick < ticks; tick++) {
        flood(perTick / 2);
        if (tick % 5 === 0) {
          const probe = Buffer.alloc(32);
          probe.writeUInt32BE(clientSent++, 0);
          client.send(probe, server.port, '127.0.0.1');
        }
        flood(perTick / 2);
        await new Promise((r) => setTimeout(r, 10));
      }
      let last = -1;
      await waitFor(
        () => {
          const received = server.stats().received;
          const quiet = received === last;
          last = received;
          return quiet;
        },
        3000,
        'the flood to arrive',
      );
      await new Promise((r) => setTimeout(r, 200));
      const elapsedS = (Date.now() - started) / 1000;
      const dropped = server.detailedStats().udp4.dropped;
      expect(clientReplies.size, `client replies of ${clientSent}`).to.be.at.least(
        Math.ceil(0.9 * clientSent),
      );
      // The flood kept the budget busy, and the total stayed within the limit (rate plus burst, with slack).
      expect(dropped['rate-global']).to.be.at.least(server.stats().received / 2);
      expect(floodReplies + clientReplies.size).to.be.at.most(rate * elapsedS * 1.05 + rate);
    } finally {
      for (const f of flooders) await closeSocket(f);
      await closeSocket(client);
      await server.close();
    }
  });

  it('drops denied and not-allowed sources and counts each reason', async function () {
    if (!(await canBind('udp4', '127.0.0.12'))) skipBecause(this, '127.0.0.12 is not a local address here');
    const server = await startReferenceServer({
      port: 0,
      bind: ['127.0.0.1'],
      allow: ['127.0.0.0/24'],
      deny: ['127.0.0.12/32'],
    });
    const denied = await bindSocket('udp4', '127.0.0.12');
    const outside = (await canBind('udp4', '127.0.1.12'))
      ? await bindSocket('udp4', '127.0.1.12')
      : undefined;
    const allowed = await bindSocket('udp4', '127.0.0.1');
    expect(server.io).to.equal(ioPath());
    try {
      expect(await exchange(denied, pattern(8), server.port, '127.0.0.1', SILENCE_MS)).to.have.length(0);
      if (outside) {
        expect(await exchange(outside, pattern(8), server.port, '127.0.0.1', SILENCE_MS)).to.have.length(0);
      }
      expect(await exchange(allowed, pattern(8), server.port, '127.0.0.1')).to.have.length(1);
      const dropped = server.detailedStats().udp4.dropped;
      expect(dropped.denied).to.equal(1);
      expect(dropped['not-allowed']).to.equal(outside ? 1 : 0);
    } finally {
      await closeSocket(denied);
      if (outside) await closeSocket(outside);
      await closeSocket(allowed);
      await server.close();
    }
  });
});

describe('reference server metrics endpoint [io]', () => {
  it('serves Prometheus counters that move with the traffic, per family and drop reason', async function () {
    if (!(await canBind('udp4', '127.0.0.13'))) skipBecause(this, '127.0.0.13 is not a local address here');
    const server = await startReferenceServer({
      port: 0,
      bind: ['127.0.0.1'],
      loopPorts: [],
      deny: ['127.0.0.13'],
    });
    expect(server.io).to.equal(ioPath());
    const metrics = await startMetricsServer('127.0.0.1', 0, server);
    const client = await bindSocket('udp4', '127.0.0.1');
    const denied = await bindSocket('udp4', '127.0.0.13');
    const scrape = async (): Promise<string> => {
      const res = await fetch(metrics.url, { signal: AbortSignal.timeout(REPLY_TIMEOUT_MS) });
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.match(/^text\/plain/);
      return res.text();
    };
    const value = (text: string, series: string): number => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      if (line === undefined) throw new Error(`no series ${series}`);
      return Number(line.split(' ')[1]);
    };
    try {
      const before = await scrape();
      expect(value(before, 'echolot_datagrams_received_total{family="ipv4"}')).to.equal(0);
      for (let i = 0; i < 3; i++) {
        expect(await exchange(client, pattern(100), server.port, '127.0.0.1')).to.have.length(1);
      }
      const after = await scrape();
      expect(value(after, 'echolot_datagrams_received_total{family="ipv4"}')).to.equal(3);
      expect(value(after, 'echolot_datagrams_echoed_total{family="ipv4"}')).to.equal(3);
      expect(value(after, 'echolot_bytes_received_total{family="ipv4"}')).to.equal(300);
      expect(value(after, 'echolot_bytes_echoed_total{family="ipv4"}')).to.equal(300);
      expect(value(after, 'echolot_datagrams_received_total{family="ipv6"}')).to.equal(0);
      expect(value(after, 'echolot_datagrams_dropped_total{family="ipv4",reason="rate-source"}')).to.equal(0);
      expect(value(after, 'echolot_sockets')).to.equal(1);
      expect(value(after, 'echolot_rate_limit_sources')).to.equal(1);
      for (let i = 0; i < 2; i++) {
        expect(await exchange(denied, pattern(10), server.port, '127.0.0.1', SILENCE_MS)).to.have.length(0);
      }
      const dropped = await scrape();
      expect(value(dropped, 'echolot_datagrams_received_total{family="ipv4"}')).to.equal(5);
      expect(value(dropped, 'echolot_datagrams_dropped_total{family="ipv4",reason="denied"}')).to.equal(2);
      expect(value(dropped, 'echolot_datagrams_dropped_total{family="ipv4",reason="loop-port"}')).to.equal(0);
      expect(value(dropped, 'echolot_rate_limit_sources')).to.equal(2);
      expect(after).to.match(/^process_resident_memory_bytes \d+/m);
      expect(after).to.match(/^process_open_fds \d+/m);
      const missing = await fetch(metrics.url.replace('/metrics', '/nope'));
      expect(missing.status).to.equal(404);
    } finally {
      await closeSocket(client);
      await closeSocket(denied);
      await metrics.close();
      await server.close();
    }
  });
});

describe('reference server metrics lint', () => {
  let scrape = '';
  before(async () => {
    const server = await startReferenceServer({ port: 0, bind: ['127.0.0.1'], loopPorts: [] });
    const metrics = await startMetricsServer('127.0.0.1', 0, server);
    try {
      const client = await bindSocket('udp4', '127.0.0.1');
      await exchange(client, pattern(10), server.port, '127.0.0.1');
      await closeSocket(client);
      scrape = await (await fetch(metrics.url, { signal: AbortSignal.timeout(REPLY_TIMEOUT_MS) })).text();
    } finally {
      await metrics.close();
      await server.close();
    }
  });

  it('finds what promtool rejects: a gauge named _total, a family without HELP or TYPE, a counter without _total', () => {
    const bad = [
      '# HELP nodejs_active_handles_total Total number of active handles.',
      '# TYPE nodejs_active_handles_total gauge',
      'nodejs_active_handles_total 4',
      '# TYPE echolot_sockets gauge',
      'echolot_sockets 1',
      'echolot_orphan 3',
      '# HELP echolot_replies Replies.',
      '# TYPE echolot_replies counter',
      'echolot_replies 7',
      '# HELP rtt_seconds Round trip.',
      '# TYPE rtt_seconds histogram',
      'rtt_seconds_bucket{le="+Inf"} 2',
      'rtt_seconds_sum 0.5',
      'rtt_seconds_count 2',
    ].join('\n');
    expect(lintExposition(bad)).to.deep.equal([
      'echolot_orphan: no help text',
      'echolot_orphan: no TYPE',
      'echolot_replies: counter metrics should have "_total" suffix',
      'echolot_sockets: no help text',
      'nodejs_active_handles_total: non-counter metrics should not have "_total" suffix',
    ]);
  });

  it("serves metrics that pass promtool's lint rules: HELP and TYPE on every family, _total only on counters", () => {
    expect(scrape).to.match(/^echolot_datagrams_echoed_total\{family="ipv4"\} 1$/m);
    expect(scrape).to.match(/^# TYPE process_resident_memory_bytes gauge$/m);
    expect(lintExposition(scrape)).to.deep.equal([]);
  });

  it('passes `promtool check metrics` when promtool is installed', function () {
    const version = spawnSync('promtool', ['--version'], { encoding: 'utf8', timeout: 10_000 });
    if (version.error) skipBecause(this, 'promtool is not installed');
    const r = spawnSync('promtool', ['check', 'metrics'], {
      input: scrape,
      encoding: 'utf8',
      timeout: 10_000,
    });
    expect(r.status, r.stdout + r.stderr).to.equal(0);
  });
});
