import { createSocket, type Socket } from 'node:dgram';
import { expect } from 'chai';
import { pythonAvailable, startRawSender } from '../../harness/probes/raw-udp.js';
import { ioPath } from '../../harness/net/native-io.js';
import { LOOP_GUARD } from '../../reference-server/loop-guard.js';
import { startMetricsServer } from '../../reference-server/metrics.js';
import {
  startReferenceServer,
  type ReferenceServer,
  type ServeOptions,
} from '../../reference-server/index.js';
import { skipBecause } from '../helpers/skip.js';

const LOCAL = '127.0.0.1';
/** How long a loop is given to run before the counters are read. */
const LOOP_MS = 1000;
/** Most echoes per server a loop may cost with the guard on: a few round trips, with room for a slow host. */
const FEW = 50;
/** How long to wait for a reply before calling it lost. */
const REPLY_TIMEOUT_MS = 2000;
/** How long to listen for a reply that must not come. */
const SILENCE_MS = 300;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function udp4(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', reject);
    socket.bind(0, LOCAL, () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}

function closeSocket(socket: Socket): Promise<void> {
  return new Promise((resolve) => socket.close(() => resolve()));
}

/** Sends `payload` from `socket` and resolves with the first reply, or undefined after `timeoutMs`. */
function exchange(
  socket: Socket,
  payload: Buffer,
  port: number,
  timeoutMs = REPLY_TIMEOUT_MS,
): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => done(undefined), timeoutMs);
    const done = (reply: Buffer | undefined): void => {
      clearTimeout(timer);
      socket.off('message', done);
      resolve(reply);
    };
    socket.on('message', done);
    socket.send(payload, port, LOCAL);
  });
}

/** Sends `count` copies of `payload` back to back and counts the replies until SILENCE_MS pass without one. */
async function burstReplies(socket: Socket, payload: Buffer, port: number, count: number): Promise<number> {
  let replies = 0;
  let last = Date.now();
  const onMessage = (): void => {
    replies++;
    last = Date.now();
  };
  socket.on('message', onMessage);
  try {
    for (let i = 0; i < count; i++) socket.send(payload, port, LOCAL);
    while (Date.now() - last < SILENCE_MS || replies === 0) {
      if (Date.now() - last > REPLY_TIMEOUT_MS) break;
      await sleep(20);
    }
  } finally {
    socket.off('message', onMessage);
  }
  return replies;
}

interface LoopRun {
  readonly echoed: [number, number];
  readonly echoLoop: [number, number];
  /** Echoes of both servers in the last 200 ms of the run: 0 once the loop is over. */
  readonly lastEchoes: number;
  /** A's echo-loop series as its metrics endpoint shows it. */
  readonly metric: number;
}

/**
 * Two reference servers on 127.0.0.1 and ONE forged datagram per payload, source = server B, destination =
 * server A, written through a raw socket: A answers B, B answers A, and so on. Reads both servers' counters
 * after LOOP_MS.
 */
async function forgedLoop(options: ServeOptions, payloads: readonly string[]): Promise<LoopRun> {
  const servers: ReferenceServer[] = [];
  const raw = startRawSender();
  try {
    for (let i = 0; i < 2; i++)
      servers.push(await startReferenceServer({ port: 0, bind: [LOCAL], ...options }));
    const [a, b] = servers as [ReferenceServer, ReferenceServer];
    const metrics = await startMetricsServer(LOCAL, 0, a);
    try {
      for (const p of payloads) {
        raw.send({
          from: { address: LOCAL, port: b.port },
          to: { address: LOCAL, port: a.port },
          payload: Buffer.from(p),
        });
      }
      await sleep(LOOP_MS - 200);
      const before = a.stats().echoed + b.stats().echoed;
      await sleep(200);
      const echoed: [number, number] = [a.stats().echoed, b.stats().echoed];
      const echoLoop: [number, number] = [
        a.detailedStats().udp4.dropped['echo-loop'],
        b.detailedStats().udp4.dropped['echo-loop'],
      ];
      const text = await (await fetch(metrics.url, { signal: AbortSignal.timeout(REPLY_TIMEOUT_MS) })).text();
      const series = 'echolot_datagrams_dropped_total{family="ipv4",reason="echo-loop"} ';
      const line = text.split('\n').find((l) => l.startsWith(series));
      return {
        echoed,
        echoLoop,
        lastEchoes: echoed[0] + echoed[1] - before,
        metric: line === undefined ? Number.NaN : Number(line.slice(series.length)),
      };
    } finally {
      await metrics.close();
    }
  } finally {
    await raw.close();
    for (const s of servers) await s.close();
  }
}

function requireRawSockets(ctx: Mocha.Context): void {
  if (process.getuid?.() !== 0)
    skipBecause(ctx, 'forging the source of a datagram needs a raw socket (root)');
  if (!pythonAvailable()) skipBecause(ctx, 'the raw-socket helper needs python3');
}

describe('loop guard: echo loops between two reference servers [io]', function () {
  this.timeout(20_000);

  it('ends the loop one forged datagram starts within a few round trips, and counts it as echo-loop', async function () {
    requireRawSockets(this);
    const run = await forgedLoop({}, ['loop me']);
    expect(run.echoed[0], 'echoes of A').to.be.within(1, FEW);
    expect(run.echoed[1], 'echoes of B').to.be.within(1, FEW);
    expect(run.lastEchoes, 'echoes in the last 200 ms').to.equal(0);
    expect(run.echoLoop[0] + run.echoLoop[1], 'echo-loop drops').to.be.at.least(1);
    expect(run.metric, 'the echo-loop series of A').to.equal(run.echoLoop[0]);
  });

  it('ends two loops started at once by forged datagrams of different payloads', async function () {
    requireRawSockets(this);
    const run = await forgedLoop({}, ['first loop', 'second loop']);
    expect(run.echoed[0], 'echoes of A').to.be.within(2, 2 * FEW);
    expect(run.echoed[1], 'echoes of B').to.be.within(2, 2 * FEW);
    expect(run.lastEchoes, 'echoes in the last 200 ms').to.equal(0);
    expect(run.echoLoop[0] + run.echoLoop[1], 'echo-loop drops').to.be.at.least(2);
  });

  it('runs into the thousands with loopGuard off (what the tests above would see without the guard)', async function () {
    requireRawSockets(this);
    const run = await forgedLoop({ loopGuard: false }, ['loop me']);
    expect(run.echoed[0], 'echoes of A').to.be.above(1000);
    expect(run.echoed[1], 'echoes of B').to.be.above(1000);
    expect(run.lastEchoes, 'echoes in the last 200 ms').to.be.above(0);
    expect(run.echoLoop).to.deep.equal([0, 0]);
  });
});

describe('loop guard: clients [io]', function () {
  this.timeout(20_000);
  let server: ReferenceServer;
  let client: Socket;

  beforeEach(async () => {
    server = await startReferenceServer({ port: 0, bind: [LOCAL] });
    expect(server.io).to.equal(ioPath());
    client = await udp4();
  });

  afterEach(async () => {
    await closeSocket(client);
    await server.close();
  });

  it('answers every datagram of a client repeating one payload every 20-50 ms for a second', async () => {
    const payload = Buffer.from('are you there?');
    let sent = 0;
    let replies = 0;
    client.on('message', (msg: Buffer) => {
      if (msg.equals(payload)) replies++;
    });
    const end = Date.now() + 1000;
    while (Date.now() < end) {
      client.send(payload, server.port, LOCAL);
      sent++;
      await sleep(20 + Math.floor(Math.random() * 31));
    }
    await sleep(SILENCE_MS);
    expect(sent).to.be.at.least(15);
    expect(replies).to.equal(sent);
    expect(server.detailedStats().udp4.dropped['echo-loop']).to.equal(0);
  });

  it('answers a client that sends the next datagram as soon as the reply is in, when the payloads differ', async () => {
    // The shape of a loop (a round trip apart, back to back) but new bytes each time: ping-pong load.
    for (let i = 0; i < 500; i++) {
      const payload = Buffer.from(`probe ${i}`);
      expect((await exchange(client, payload, server.port))?.toString(), `reply ${i}`).to.equal(
        payload.toString(),
      );
    }
    expect(server.detailedStats().udp4.dropped['echo-loop']).to.equal(0);
  });

  it('answers a burst of one payload LOOP_GUARD.repeats times (the shape of a loop), and again after a pause', async () => {
    const payload = Buffer.from('echo of an echo');
    const burst = LOOP_GUARD.repeats + 4;
    expect(await burstReplies(client, payload, server.port, burst)).to.equal(LOOP_GUARD.repeats);
    expect(server.detailedStats().udp4.dropped['echo-loop']).to.equal(4);
    expect(server.stats()).to.include({ received: burst, echoed: LOOP_GUARD.repeats, droppedByPolicy: 4 });
    // SILENCE_MS is far beyond the gap: the streak starts over.
    expect(await exchange(client, payload, server.port)).to.not.equal(undefined);
  });
});

describe('loop guard: turned off [io]', () => {
  it('answers every datagram of a burst of one payload with loopGuard false', async () => {
    const server = await startReferenceServer({ port: 0, bind: [LOCAL], loopGuard: false });
    const client = await udp4();
    try {
      const burst = 3 * LOOP_GUARD.repeats;
      expect(await burstReplies(client, Buffer.from('again and again'), server.port, burst)).to.equal(burst);
      expect(server.detailedStats().udp4.dropped['echo-loop']).to.equal(0);
    } finally {
      await closeSocket(client);
      await server.close();
    }
  });
});
