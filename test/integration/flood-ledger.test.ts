import { expect } from 'chai';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { Ledger } from '../../harness/conformance/ledger.js';
import { CaseWire } from '../../harness/conformance/exchange.js';
import { flood, type FloodResult } from '../../harness/conformance/flood.js';

/**
 * What the ledger makes of a flood's socket, against small loopback servers that drop most of a
 * flood: strays are breaches even when the drops leave fewer arrivals than requests; the drops
 * alone are not.
 */
describe('the ledger on a flood socket', function () {
  this.timeout(20_000);

  /**
   * A server answering every `keep`-th datagram; with `stray`, 50 ms after each answer it sends that too,
   * from its own port, or with `strayFrom` from that other socket (another server on the same address).
   */
  async function dropper(keep: number, stray?: Buffer, strayFrom?: Socket): Promise<Socket> {
    const s = createSocket('udp4');
    let n = 0;
    s.on('message', (msg, r) => {
      if (n++ % keep !== 0) return;
      s.send(msg, r.port, r.address);
      if (stray) setTimeout(() => (strayFrom ?? s).send(stray, r.port, r.address), 50).unref();
    });
    s.on('close', () => strayFrom?.close());
    s.bind(0, '127.0.0.1');
    await once(s, 'listening');
    return s;
  }

  async function floodAt(
    server: Socket,
    size: number,
  ): Promise<{
    result: FloodResult;
    breaches: ReturnType<Ledger['breaches']>;
    counts: ReturnType<Ledger['totals']>;
  }> {
    const ledger = new Ledger();
    const target = { address: '127.0.0.1', port: server.address().port, family: 'IPv4' as const };
    const wire = new CaseWire(ledger, '7.6', target, new AbortController().signal);
    try {
      const result = await flood(wire, {
        to: target,
        family: 'IPv4',
        count: 400,
        size: () => size,
        burst: 20,
        intervalMs: 2,
        maxSendMs: 2000,
        quietMs: 200,
        maxDrainMs: 1000,
      });
      await ledger.finish(150);
      return { result, breaches: ledger.breaches('7.6'), counts: ledger.totals() };
    } finally {
      server.close();
    }
  }

  it('breaches a stray datagram although the server dropped 3 of every 4 requests', async () => {
    const { result, breaches } = await floodAt(await dropper(4, Buffer.from('keepalive')), 16);
    expect(result.replies, 'replies')
      .to.be.greaterThan(0)
      .and.below(result.sent / 2);
    expect(breaches.total, 'breaches').to.be.greaterThan(0);
    expect(breaches.list[0]?.severity).to.equal('MUST');
    expect(breaches.list[0]?.message).to.match(/9-byte datagram/);
  });

  it('leaves alone a stray from another port of the same address (another server on the host), as foreign', async () => {
    const other = createSocket('udp4');
    other.bind(0, '127.0.0.1');
    await once(other, 'listening');
    const { result, breaches, counts } = await floodAt(await dropper(4, Buffer.from('keepalive'), other), 16);
    expect(result.replies, 'replies').to.be.greaterThan(0);
    expect(breaches.total, `breaches: ${breaches.list.map((b) => b.message).join('; ')}`).to.equal(0);
    expect(counts.foreign, 'foreign').to.be.greaterThan(0);
  });

  it('leaves a correct server behind the same drops alone', async () => {
    const { result, breaches } = await floodAt(await dropper(4), 16);
    expect(result.replies, 'replies')
      .to.be.greaterThan(0)
      .and.below(result.sent / 2);
    expect(breaches.total, `breaches: ${breaches.list.map((b) => b.message).join('; ')}`).to.equal(0);
  });

  it('cannot name strays among zero-length replies until they outnumber the requests', async () => {
    // Zero-length requests carry no nonce: a datagram that matches none may be any one's reply.
    const { breaches } = await floodAt(await dropper(4, Buffer.alloc(3)), 0);
    expect(breaches.total, 'breaches').to.equal(0);
  });
});
