import { execFileSync, spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { createInterface } from 'node:readline';
import { expect } from 'chai';
import { staticCapabilities } from '../../harness/net/capabilities.js';
import { liveTestHosts } from '../../harness/testhost/netns.js';
import { startReferenceServerIn, type NamespacedServer } from '../../harness/testhost/reference-in-netns.js';
import {
  bridgeBinary,
  createImpairedHost,
  hasCompiler,
  type BridgeStats,
  type DirectionStats,
  type ImpairedHost,
  type PathImpairment,
} from '../support/impaired-path.js';

/** Base seed of this run; each host derives its own from it. Replay with ECHOLOT_IMPAIR_SEED. */
const SEED = Number(process.env['ECHOLOT_IMPAIR_SEED'] ?? randomInt(2 ** 30));

/** The largest UDP payload over IPv4; 45 fragments at MTU 1500 (1480 bytes of payload each). */
const LARGEST = 65507;
const FRAGMENTS = 45;

/** Deviations from a binomial mean that a test tolerates: a false alarm about once in 10^5 runs. */
const SIGMAS = 4.5;

/** What came back of `count` numbered datagrams. */
interface Exchange {
  /** Copies received per datagram (index = number). */
  readonly copies: readonly number[];
  /** First copies' numbers in arrival order. */
  readonly order: readonly number[];
  /** Round-trip time of each datagram's first copy, ms (NaN when lost). */
  readonly rtt: readonly number[];
}

interface ExchangeOptions {
  readonly count: number;
  readonly size?: number;
  /** Datagrams in flight at once. */
  readonly window: number;
  /** After this long without an answer a datagram counts as lost and frees its slot. */
  readonly timeoutMs: number;
  /** How long to listen for late copies once every datagram is answered or lost. @defaultValue 100 */
  readonly lingerMs?: number;
}

/**
 * Sends `count` datagrams numbered 0..count-1 (a 4-byte number, then padding) to the server, at
 * most `window` unanswered at a time, and counts what comes back, duplicates included, until every
 * datagram is answered or timed out and `lingerMs` more have passed.
 */
function exchange(to: { address: string; port: number }, o: ExchangeOptions): Promise<Exchange> {
  const socket = createSocket({
    type: isIPv6(to.address.split('%')[0] ?? '') ? 'udp6' : 'udp4',
    recvBufferSize: 1 << 22,
    sendBufferSize: 1 << 22,
  });
  const copies = new Array<number>(o.count).fill(0);
  const rtt = new Array<number>(o.count).fill(NaN);
  const sentAt = new Array<number>(o.count).fill(0);
  const settled = new Array<boolean>(o.count).fill(false);
  const order: number[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let next = 0;
  let open = 0;
  let done = 0;
  const clear = (): void => {
    for (const t of timers) clearTimeout(t);
  };
  return new Promise((resolve, reject) => {
    // Answered or timed out, whichever comes first, frees the datagram's slot.
    const settle = (n: number): void => {
      if (settled[n]) return;
      settled[n] = true;
      open--;
      if (++done < o.count) pump();
      else
        timers.add(
          setTimeout(() => {
            clear();
            socket.close();
            resolve({ copies, order, rtt });
          }, o.lingerMs ?? 100),
        );
    };
    const pump = (): void => {
      while (open < o.window && next < o.count) {
        const n = next++;
        const payload = Buffer.alloc(o.size ?? 32, 0x5a);
        payload.writeUInt32BE(n, 0);
        open++;
        sentAt[n] = performance.now();
        socket.send(payload, to.port, to.address);
        timers.add(setTimeout(() => settle(n), o.timeoutMs));
      }
    };
    socket.on('error', (err) => {
      clear();
      socket.close();
      reject(err);
    });
    socket.on('message', (msg) => {
      const n = msg.readUInt32BE(0);
      if (n >= o.count || msg.length !== (o.size ?? 32)) return;
      copies[n] = (copies[n] ?? 0) + 1;
      if (copies[n] !== 1) return;
      order.push(n);
      rtt[n] = performance.now() - (sentAt[n] ?? 0);
      settle(n);
    });
    socket.bind(0, () => pump());
  });
}

const lostOf = (e: Exchange): number => e.copies.filter((c) => c === 0).length;

/** Counter deltas of one direction between two readings. */
function delta(after: DirectionStats, before: DirectionStats): Record<keyof DirectionStats, number> {
  const d = {} as Record<keyof DirectionStats, number>;
  for (const k of Object.keys(after) as (keyof DirectionStats)[]) d[k] = after[k] - before[k];
  return d;
}

/** [low, high] around the binomial mean n·p within SIGMAS standard deviations. */
function binomialBounds(n: number, p: number): [number, number] {
  const sd = Math.sqrt(n * p * (1 - p));
  return [n * p - SIGMAS * sd, n * p + SIGMAS * sd];
}

/** This process's impaired hosts and links still present in the kernel. */
function leftovers(): string[] {
  const pid = process.pid.toString(36);
  const text = [
    execFileSync('ip', ['netns', 'list'], { encoding: 'utf8', timeout: 5000 }),
    execFileSync('ip', ['-o', 'link'], { encoding: 'utf8', timeout: 5000 }),
  ].join('\n');
  return text.split('\n').filter((l) => l.includes(`echolot-impair-${pid}-`) || l.includes(`ei${pid}.`));
}

/** Whether `ip netns list` or `ip -o link` output lines name `name` (a namespace or a link). */
function names(lines: readonly string[], name: string): boolean {
  return lines.some((l) => l === name || l.startsWith(`${name} `) || l.includes(`: ${name}@`));
}

/** Whether `pid` is a live (not zombie) process. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

/** An impaired host with the reference server bound to its primary IPv4 address. */
async function withServer(
  impairment: PathImpairment,
  seed: number,
): Promise<{ host: ImpairedHost; server: NamespacedServer; to: { address: string; port: number } }> {
  const host = await createImpairedHost(impairment, { seed });
  try {
    const server = await startReferenceServerIn(host, { bind: [host.address] });
    return { host, server, to: { address: host.address, port: server.port } };
  } catch (err) {
    await host.remove();
    throw err;
  }
}

describe('impaired paths (a seeded bridge between this host and a test host)', function () {
  this.timeout(30_000);
  const replay = `seed ${SEED} (replay: ECHOLOT_IMPAIR_SEED=${SEED})`;

  before(async function () {
    this.timeout(90_000);
    const reason = !staticCapabilities().netns
      ? 'needs root (CAP_NET_ADMIN) and iproute2 for the namespaces'
      : !hasCompiler()
        ? 'no C compiler (cc) on PATH for the bridge; .ci/run installs gcc as root'
        : undefined;
    if (reason) {
      console.log(`      skipped: ${reason}`);
      this.skip();
    }
    await bridgeBinary();
  });

  describe('without impairment', () => {
    let host: ImpairedHost;
    let server: NamespacedServer;
    before(async () => {
      host = await createImpairedHost({}, { seed: SEED });
      server = await startReferenceServerIn(host, {
        bind: [host.address, host.ipv6.address, host.linkLocal.inside],
      });
    });
    after(() => host?.remove());

    it('echoes 1000 small datagrams and a 65507-byte one over IPv4, with no loss', async () => {
      const to = { address: host.address, port: server.port };
      const before = await host.stats();
      const small = await exchange(to, { count: 1000, window: 32, timeoutMs: 1000 });
      const large = await exchange(to, { count: 1, size: LARGEST, window: 1, timeoutMs: 1000 });
      const s = await host.stats();
      expect(lostOf(small), 'small datagrams lost').to.equal(0);
      expect(large.copies, 'the 65507-byte datagram').to.deep.equal([1]);
      for (const [dir, d] of [
        ['toServer', delta(s.toServer, before.toServer)],
        ['toClient', delta(s.toClient, before.toClient)],
      ] as const) {
        expect(d.seen, dir).to.equal(1000 + FRAGMENTS);
        expect(d.forwarded, dir).to.equal(d.seen);
        expect(d.dropped + d.overflow + d.errors + d.socketDrops, dir).to.equal(0);
        // Each small datagram left its sender with a partial checksum that only the bridge completes.
        expect(d.checksummed, dir).to.equal(1000);
      }
      expect(s.queued).to.equal(0);
    });

    it('echoes over IPv6, global and link-local, small and 65507 bytes', async () => {
      for (const address of [host.ipv6.address, host.linkLocal.peer]) {
        const to = { address, port: server.port };
        const small = await exchange(to, { count: 100, window: 16, timeoutMs: 1000 });
        const large = await exchange(to, { count: 1, size: LARGEST, window: 1, timeoutMs: 1000 });
        expect(lostOf(small), `${address}: small datagrams lost`).to.equal(0);
        expect(large.copies, `${address}: the 65507-byte datagram`).to.deep.equal([1]);
      }
    });

    it('keeps a burst in order', async () => {
      const burst = await exchange(
        { address: host.address, port: server.port },
        { count: 300, window: 50, timeoutMs: 500 },
      );
      expect(lostOf(burst)).to.equal(0);
      expect(burst.order).to.deep.equal([...burst.order].sort((a, b) => a - b));
    });
  });

  describe('loss', () => {
    let host: ImpairedHost;
    let to: { address: string; port: number };
    before(async () => {
      ({ host, to } = await withServer({ toServer: { loss: 0.05 } }, SEED + 1));
    });
    after(() => host?.remove());

    it('drops 5% of small datagrams toward the server, and the bridge counts every one', async () => {
      const r = await exchange(to, { count: 2000, window: 64, timeoutMs: 200 });
      const s = await host.stats();
      const lost = lostOf(r);
      const [low, high] = binomialBounds(2000, 0.05);
      console.log(`      loss: ${lost}/2000 = ${((lost / 2000) * 100).toFixed(2)}% (${replay})`);
      expect(lost, `lost of 2000, ${replay}`).to.be.within(low, high);
      expect(s.toServer.seen).to.equal(2000);
      expect(s.toServer.dropped, 'drops counted by the bridge').to.equal(lost);
      expect(s.toClient.dropped).to.equal(0);
    });

    it('loses a 65507-byte datagram (45 fragments each way) far more often than a small one', async () => {
      await host.setImpairment({ loss: 0.05 });
      const before = await host.stats();
      const small = await exchange(to, { count: 200, window: 32, timeoutMs: 200 });
      const large = await exchange(to, { count: 16, size: LARGEST, window: 4, timeoutMs: 250 });
      const s = await host.stats();
      const smallRate = lostOf(small) / 200;
      const largeRate = lostOf(large) / 16;
      console.log(
        `      round-trip loss at 5% each way: small ${(smallRate * 100).toFixed(1)}%, ` +
          `65507 B ${(largeRate * 100).toFixed(1)}% (${replay})`,
      );
      // Whole datagrams: 1 - 0.95^2 = 9.75%; fragments one by one: 1 - 0.95^90 = 99%.
      expect(smallRate, replay).to.be.below(0.25);
      expect(largeRate, replay).to.be.at.least(0.75);
      expect(delta(s.toServer, before.toServer).seen, 'frames toward the server').to.equal(
        200 + 16 * FRAGMENTS,
      );
      // setImpairment() reached the other direction too.
      expect(delta(s.toClient, before.toClient).dropped).to.be.greaterThan(0);
    });
  });

  describe('delay and jitter', () => {
    it('delays by 50 ms ± 10 ms each way: round trips between 80 and 125 ms', async () => {
      const { host, to } = await withServer({ delayMs: 50, jitterMs: 10 }, SEED + 3);
      try {
        // The first exchange also resolves neighbours and wakes the server; it is not measured.
        await exchange(to, { count: 4, window: 4, timeoutMs: 1000 });
        const before = await host.stats();
        const r = await exchange(to, { count: 40, window: 8, timeoutMs: 1000 });
        const s = await host.stats();
        const rtts = [...r.rtt].sort((a, b) => a - b);
        const mean = rtts.reduce((a, b) => a + b, 0) / rtts.length;
        const sd = Math.sqrt(rtts.reduce((a, b) => a + (b - mean) ** 2, 0) / rtts.length);
        const within = rtts.filter((t) => t >= 80 && t <= 125).length;
        console.log(
          `      round trips: min ${rtts[0]?.toFixed(1)} ms, mean ${mean.toFixed(1)} ms, ` +
            `sd ${sd.toFixed(1)} ms, max ${rtts.at(-1)?.toFixed(1)} ms, ${within}/40 within 80..125 ms`,
        );
        expect(lostOf(r)).to.equal(0);
        // Each pass holds a frame 40 ms at least, so nothing is faster; a busy machine can only add time.
        expect(rtts[0]).to.be.at.least(80);
        expect(within, 'round trips within 80..125 ms').to.be.at.least(36);
        expect(mean).to.be.within(92, 112);
        // Two uniform ±10 ms jitters: sd 8.2 ms; without jitter it would be about 1 ms.
        expect(sd, 'spread of the round trips').to.be.above(4);
        expect(delta(s.toServer, before.toServer).delayed).to.equal(40);
        expect(delta(s.toClient, before.toClient).delayed).to.equal(40);
      } finally {
        await host.remove();
      }
    });
  });

  describe('duplication', () => {
    it('duplicates 5% of the datagrams toward this host, and only those', async () => {
      const { host, to } = await withServer({ toClient: { duplicate: 0.05 } }, SEED + 4);
      try {
        const r = await exchange(to, { count: 2000, window: 64, timeoutMs: 200 });
        const s = await host.stats();
        const twice = r.copies.filter((c) => c === 2).length;
        const [low, high] = binomialBounds(2000, 0.05);
        console.log(`      duplicates: ${twice}/2000 = ${((twice / 2000) * 100).toFixed(2)}% (${replay})`);
        expect(lostOf(r)).to.equal(0);
        expect(Math.max(...r.copies)).to.be.at.most(2);
        expect(twice, replay).to.be.within(low, high);
        expect(s.toClient.duplicated, 'duplicates counted by the bridge').to.equal(twice);
        expect(s.toServer.duplicated).to.equal(0);
      } finally {
        await host.remove();
      }
    });
  });

  describe('reordering', () => {
    it('reorders: with 25% of the replies held back 10 ms, later ones overtake them in a burst', async () => {
      const { host, to } = await withServer({ toClient: { reorder: 0.25 } }, SEED + 5);
      try {
        const r = await exchange(to, { count: 400, window: 50, timeoutMs: 500 });
        const s = await host.stats();
        // A reply arrives late when a higher-numbered one came before it.
        let highest = -1;
        let late = 0;
        for (const n of r.order) {
          if (n < highest) late++;
          highest = Math.max(highest, n);
        }
        const [low, high] = binomialBounds(400, 0.25);
        console.log(
          `      reordering: ${s.toClient.reordered}/400 held back, ${late} arrived late (${replay})`,
        );
        expect(lostOf(r)).to.equal(0);
        expect(s.toClient.reordered, replay).to.be.within(low, high);
        expect(s.toServer.reordered).to.equal(0);
        // Only a held-back reply can arrive late; all but those held at the very end of the burst do.
        expect(late).to.be.at.most(s.toClient.reordered);
        expect(late).to.be.at.least(s.toClient.reordered / 2);
      } finally {
        await host.remove();
      }
    });
  });

  describe('determinism', () => {
    /** Fixed traffic through a host with loss and duplication both ways, and what the bridge counted. */
    async function run(seed: number): Promise<{ copies: readonly number[]; stats: BridgeStats }> {
      const { host, to } = await withServer({ loss: 0.1, duplicate: 0.1 }, seed);
      try {
        const r = await exchange(to, { count: 300, window: 16, timeoutMs: 150 });
        return { copies: r.copies, stats: await host.stats() };
      } finally {
        await host.remove();
      }
    }
    const decisions = (s: BridgeStats): unknown =>
      (['toServer', 'toClient'] as const).map((d) => {
        const { seen, forwarded, dropped, duplicated } = s[d];
        return { seen, forwarded, dropped, duplicated };
      });

    it('gives the same decisions for the same seed and traffic, and others for another seed', async () => {
      const a = await run(SEED + 6);
      const b = await run(SEED + 6);
      const c = await run(SEED + 7);
      expect(a.stats.toServer.dropped, 'some loss').to.be.greaterThan(0);
      expect(decisions(b.stats), replay).to.deep.equal(decisions(a.stats));
      expect(b.copies, 'copies of each datagram').to.deep.equal(a.copies);
      expect(c.copies).to.not.deep.equal(a.copies);
      expect(decisions(c.stats)).to.not.deep.equal(decisions(a.stats));
    });
  });

  describe('teardown', () => {
    it('leaves no namespace, veth or bridge process behind, and remove() may be called twice', async () => {
      const before = leftovers();
      const host = await createImpairedHost({ loss: 0.5, delayMs: 20 }, { seed: SEED, extraAddresses: 1 });
      const server = await startReferenceServerIn(host, { bind: ['all'] });
      const during = leftovers();
      const pid = host.bridgePid ?? 0;
      try {
        expect(names(during, host.name), host.name).to.equal(true);
        expect(names(during, host.bridgeNamespace), host.bridgeNamespace).to.equal(true);
        expect(names(during, host.hostInterface), host.hostInterface).to.equal(true);
        expect(alive(pid), 'bridge running').to.equal(true);
        const r = await exchange(
          { address: host.address, port: server.port },
          { count: 20, window: 20, timeoutMs: 100 },
        );
        expect(lostOf(r), 'lost at 50% each way').to.be.greaterThan(0);
        expect(liveTestHosts()).to.include(host.name);
      } finally {
        await host.remove();
        await host.remove();
      }
      expect(before).to.deep.equal([]);
      expect(leftovers()).to.deep.equal([]);
      expect(alive(pid), 'bridge running').to.equal(false);
      expect(server.process.child.exitCode !== null || server.process.child.signalCode !== null).to.equal(
        true,
      );
      expect(liveTestHosts()).to.not.include(host.name);
      const final = await host.stats();
      expect(final.toServer.seen, 'counters printed on exit').to.equal(20);
    });

    it('ends the bridge when the process that started it dies', async () => {
      const module = new URL('../support/impaired-path.js', import.meta.url).href;
      const script = `
        const { createImpairedHost } = await import(${JSON.stringify(module)});
        const h = await createImpairedHost({}, { seed: 1 });
        const names = [h.name, h.bridgeNamespace];
        console.log(JSON.stringify({ pid: h.bridgePid, names, link: h.hostInterface }));
        setInterval(() => undefined, 1000);
      `;
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let made: { pid: number; names: string[]; link: string } | undefined;
      try {
        const line = await new Promise<string>((resolve, reject) => {
          createInterface({ input: child.stdout }).once('line', resolve);
          child.once('exit', () => reject(new Error('the child exited before making its host')));
        });
        made = JSON.parse(line) as { pid: number; names: string[]; link: string };
        expect(alive(made.pid), 'bridge running').to.equal(true);
        // SIGKILL: no exit handler runs, so only the bridge's own parent-death signal can end it.
        child.kill('SIGKILL');
        const deadline = Date.now() + 3000;
        while (alive(made.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        expect(alive(made.pid), 'bridge running after its parent died').to.equal(false);
      } finally {
        child.kill('SIGKILL');
        // The child could not remove its host; its names are known, so this test does.
        if (made) {
          if (alive(made.pid)) process.kill(made.pid, 'SIGKILL');
          for (const args of [['link', 'del', made.link], ...made.names.map((n) => ['netns', 'del', n])]) {
            try {
              execFileSync('ip', args, { stdio: 'ignore', timeout: 5000 });
            } catch {
              // Already gone.
            }
          }
        }
      }
    });
  });
});
