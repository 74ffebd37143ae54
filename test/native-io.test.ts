import { spawnSync } from 'node:child_process';
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
      expect(server.io).to.equal('dgram');
      await client.send(Buffer.from('x'), { address: '127.0.0.9', port: server.port });
      expect((await client.receive(300)).kind).to.not.equal('datagram');
      expect(server.stats()).to.include({ received: 0, echoed: 0 });
    } finally {
      await client.close();
      await server.close();
    }
  });
});

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
