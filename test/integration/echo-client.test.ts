import { expect } from 'chai';
import { createSocket, type Socket } from 'node:dgram';
import { EchoClient } from '../../harness/net/echo-client.js';

describe('EchoClient', () => {
  let peer: Socket;
  let peerPort: number;
  before(async () => {
    peer = createSocket('udp4');
    peer.on('message', (msg, r) => peer.send(msg, r.port, r.address));
    await new Promise<void>((r) => peer.bind(0, '127.0.0.1', () => r()));
    peerPort = peer.address().port;
  });
  after(() => new Promise<void>((r) => peer.close(() => r())));

  it('binds an OS-assigned port and receives the reply with its source', async () => {
    const c = await EchoClient.open({ family: 'IPv4' });
    try {
      expect(c.local().port).to.be.above(0);
      await c.send(Buffer.from('68656c6c6f', 'hex'), { address: '127.0.0.1', port: peerPort });
      const o = await c.receive(1000);
      expect(o.kind).to.equal('datagram');
      if (o.kind !== 'datagram') return;
      expect(o.datagram.data.toString('hex')).to.equal('68656c6c6f');
      expect(o.datagram.from).to.deep.equal({ address: '127.0.0.1', port: peerPort, family: 'IPv4' });
    } finally {
      await c.close();
    }
  });

  it('times out within the bound when nothing arrives', async () => {
    const c = await EchoClient.open({ family: 'IPv4' });
    const t0 = Date.now();
    const o = await c.receive(80);
    await c.close();
    expect(o.kind).to.equal('timeout');
    expect(Date.now() - t0).to.be.within(60, 1000);
  });

  it('stops waiting when the signal aborts', async () => {
    const c = await EchoClient.open({ family: 'IPv4' });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 20);
    const t0 = Date.now();
    const o = await c.receive(10_000, ac.signal);
    await c.close();
    expect(o.kind).to.equal('timeout');
    expect(Date.now() - t0).to.be.below(1000);
  });

  it('reports ICMP port unreachable on a connected socket as an ECONNREFUSED fault', async () => {
    const probe = createSocket('udp4');
    await new Promise<void>((r) => probe.bind(0, '127.0.0.1', () => r()));
    const deadPort = probe.address().port;
    await new Promise<void>((r) => probe.close(() => r()));
    const c = await EchoClient.open({ family: 'IPv4', connect: { address: '127.0.0.1', port: deadPort } });
    try {
      await c.send(Buffer.from('00', 'hex'));
      const o = await c.receive(1000);
      expect(o.kind).to.equal('fault');
      if (o.kind === 'fault') expect(o.fault.errno).to.equal('ECONNREFUSED');
    } finally {
      await c.close();
    }
  });

  it('closes idempotently and wakes a pending receive', async () => {
    const c = await EchoClient.open({ family: 'IPv4' });
    const pending = c.receive(10_000);
    await Promise.all([c.close(), c.close()]);
    expect((await pending).kind).to.equal('timeout');
  });

  it('collects duplicates within a drain window', async () => {
    const c = await EchoClient.open({ family: 'IPv4' });
    try {
      const to = { address: '127.0.0.1', port: peerPort };
      await c.send(Buffer.from('01', 'hex'), to);
      await c.send(Buffer.from('02', 'hex'), to);
      const got = await c.drain(200);
      expect(got.map((d) => d.data.toString('hex'))).to.deep.equal(['01', '02']);
    } finally {
      await c.close();
    }
  });
});
