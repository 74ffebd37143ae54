import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type RemoteInfo, type Socket, type SocketType } from 'node:dgram';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { LISTENING_PATTERN } from '../../harness/target/child-server.js';

/** dist/test/soak/soak.js -> dist/harness/cli/main.js */
const MAIN = fileURLToPath(new URL('../../harness/cli/main.js', import.meta.url));

/** Knobs of one soak run; every count and duration is bounded by these. */
export interface SoakOptions {
  /** How long traffic runs, ms. */
  readonly durationMs: number;
  /** Datagrams per second of the steady, verified clients (split over 8 sockets on 8 source addresses). */
  readonly steadyRate: number;
  /** Per-source limit given to the server, datagrams per second; the flooder sends 3x this. */
  readonly perSourceLimit: number;
  /** Closed-port sockets per second (each sends once and closes at once: ICMP port-unreachable storm). */
  readonly icmpPerSecond: number;
  /** Maximum-size datagrams per burst, one burst per family every burstEveryMs. */
  readonly burstSize: number;
  readonly burstEveryMs: number;
  /** Short-lived verified sockets open at once (each does two exchanges, then closes). */
  readonly rotationConcurrency: number;
  /** Pause of each rotation worker between sockets, ms (keeps the churn a background load). */
  readonly rotationPauseMs: number;
  /** How often the server's RSS, descriptors and metrics are sampled, ms. */
  readonly sampleMs: number;
  /** Progress lines, e.g. process.stderr.write. */
  readonly progress?: (line: string) => void;
}

/** One sample of the server process and its metrics. */
export interface SoakSample {
  readonly tMs: number;
  readonly rssBytes: number;
  readonly fds: number;
  readonly received: number;
  readonly echoed: number;
  readonly dropped: Readonly<Record<string, number>>;
}

/** What a soak run found; `problems` empty means it passed. */
export interface SoakReport {
  readonly options: SoakOptions;
  readonly samples: readonly SoakSample[];
  readonly sent: number;
  readonly verified: number;
  readonly lostSteady: number;
  readonly sentSteady: number;
  readonly duplicates: number;
  readonly misaddressed: number;
  readonly corrupt: number;
  readonly distinctSourcePorts: number;
  readonly maxSizeSent: number;
  readonly maxSizeVerified: number;
  readonly flooderSent: number;
  readonly flooderEchoed: number;
  readonly icmpSockets: number;
  readonly exitCode: number | null;
  readonly summaryLine: string;
  readonly problems: readonly string[];
}

/** Default options of `npm run soak`: ten minutes at a fixed rate. */
export const FULL_SOAK: SoakOptions = {
  durationMs: 600_000,
  steadyRate: 400,
  perSourceLimit: 100,
  icmpPerSecond: 50,
  burstSize: 8,
  burstEveryMs: 5000,
  rotationConcurrency: 16,
  rotationPauseMs: 200,
  sampleMs: 1000,
};

const MAGIC = 0x45534f4b; // 'ESOK'
const HEADER = 12;
const REPLY_TIMEOUT_MS = 1000;
const MAX_V4 = 65507;
const MAX_V6 = 65527;

/** Payload of `size` bytes that names the socket it was sent from and its sequence number. */
function payload(size: number, port: number, seq: number): Buffer {
  const buf = Buffer.allocUnsafe(Math.max(HEADER, size));
  buf.writeUInt32BE(MAGIC, 0);
  buf.writeUInt32BE(port, 4);
  buf.writeUInt32BE(seq, 8);
  for (let i = HEADER; i < buf.length; i++) buf[i] = (seq + i) & 0xff;
  return buf;
}

function steadySize(seq: number): number {
  return HEADER + ((seq * 37) % 1400);
}

interface Tally {
  sent: number;
  verified: number;
  duplicates: number;
  misaddressed: number;
  corrupt: number;
  ports: Uint8Array;
  distinctPorts: number;
  maxSizeSent: number;
  maxSizeVerified: number;
  flooderSent: number;
  flooderEchoed: number;
  icmpSockets: number;
  lostSteady: number;
  sentSteady: number;
}

interface Target {
  readonly port: number;
  readonly v4: string;
  readonly v6: string | undefined;
}

/**
 * Runs `echolot serve` as a child under mixed abuse: steady verified traffic, a flooder above its limit,
 * ICMP port-unreachable storms, maximum-size bursts and thousands of short-lived source ports. Samples
 * RSS and descriptors of the server from /proc and its counters from the metrics endpoint.
 */
export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const problems: string[] = [];
  const ipv6 = await canBind('udp6', '::1');
  const child = spawn(
    process.execPath,
    [
      MAIN,
      'serve',
      '--port',
      '0',
      '--bind',
      '127.0.0.1',
      ...(ipv6 ? ['--bind', '::1'] : []),
      '--metrics',
      '127.0.0.1:0',
      '--rate-limit',
      String(options.perSourceLimit),
      '--max-inflight',
      '4096',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const stdout = lines(child, 'stdout');
  const stderr = lines(child, 'stderr');
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  const t: Tally = {
    sent: 0,
    verified: 0,
    duplicates: 0,
    misaddressed: 0,
    corrupt: 0,
    ports: new Uint8Array(65536),
    distinctPorts: 0,
    maxSizeSent: 0,
    maxSizeVerified: 0,
    flooderSent: 0,
    flooderEchoed: 0,
    icmpSockets: 0,
    lostSteady: 0,
    sentSteady: 0,
  };
  const samples: SoakSample[] = [];
  let exitCode: number | null;
  try {
    const port = Number((await waitLine(stdout, LISTENING_PATTERN, exited))[1]);
    const metricsUrl = (await waitLine(stderr, /metrics at (http:\S+)/, exited))[1]!;
    const target: Target = { port, v4: '127.0.0.1', v6: ipv6 ? '::1' : undefined };
    const start = Date.now();
    const deadline = start + options.durationMs;
    const sample = async (): Promise<void> => {
      const m = await scrape(metricsUrl);
      samples.push({ tMs: Date.now() - start, rssBytes: rss(child.pid!), fds: fdCount(child.pid!), ...m });
    };
    await sample();
    let lastProgress = 0;
    const sampler = (async () => {
      while (Date.now() < deadline && child.exitCode === null) {
        await sleep(options.sampleMs);
        await sample().catch((err: unknown) => problems.push(`sampling failed: ${String(err)}`));
        const s = samples.at(-1);
        if (options.progress && s && s.tMs - lastProgress >= 10_000) {
          lastProgress = s.tMs;
          options.progress(
            `soak: ${Math.round(s.tMs / 1000)} s, RSS ${mb(s.rssBytes)} MB, fds ${s.fds}, rx ${s.received}, tx ${s.echoed}\n`,
          );
        }
      }
    })();
    await Promise.all([
      steady(target, options, deadline, t),
      flooder(target, options, deadline, t),
      icmpStorm(target, options, deadline, t),
      bursts(target, options, deadline, t),
      rotation(target, options, deadline, t),
      sampler,
    ]);
    // Let the last replies arrive and the counters settle before the final sample.
    await sleep(300);
    await sample();
    if (child.exitCode !== null) problems.push(`the server exited during the run (code ${child.exitCode})`);
    child.kill('SIGTERM');
    exitCode = await within(exited, 5000, 'server exit after SIGTERM');
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  const summaryLine = stdout.find((l) => l.includes('stopped;')) ?? '';
  judge(options, t, samples, exitCode, summaryLine, problems);
  return {
    options,
    samples,
    sent: t.sent,
    verified: t.verified,
    lostSteady: t.lostSteady,
    sentSteady: t.sentSteady,
    duplicates: t.duplicates,
    misaddressed: t.misaddressed,
    corrupt: t.corrupt,
    distinctSourcePorts: t.distinctPorts,
    maxSizeSent: t.maxSizeSent,
    maxSizeVerified: t.maxSizeVerified,
    flooderSent: t.flooderSent,
    flooderEchoed: t.flooderEchoed,
    icmpSockets: t.icmpSockets,
    exitCode,
    summaryLine,
    problems,
  };
}

function judge(
  o: SoakOptions,
  t: Tally,
  samples: readonly SoakSample[],
  exitCode: number | null,
  summaryLine: string,
  problems: string[],
): void {
  if (exitCode !== 0) problems.push(`server exit code ${exitCode} after SIGTERM (want 0)`);
  if (summaryLine === '') problems.push('no summary line from the server');
  if (t.duplicates > 0) problems.push(`${t.duplicates} replies arrived twice`);
  if (t.misaddressed > 0) problems.push(`${t.misaddressed} replies came from or went to the wrong place`);
  if (t.corrupt > 0) problems.push(`${t.corrupt} replies differ from their request`);
  if (t.sentSteady > 0 && t.lostSteady / t.sentSteady > 0.05) {
    problems.push(`${t.lostSteady} of ${t.sentSteady} steady requests got no reply (over 5%)`);
  }
  if (t.maxSizeVerified === 0) problems.push('no maximum-size datagram came back');
  // The flooder sends 3x its limit: at most the bucket depth plus the rate over the run may come back.
  const allowance = o.perSourceLimit * (o.durationMs / 1000 + 1) * 1.1 + o.perSourceLimit;
  if (t.flooderEchoed > allowance) {
    problems.push(
      `flooder got ${t.flooderEchoed} replies, above its limit (at most ${Math.round(allowance)})`,
    );
  }
  const last = samples.at(-1);
  if ((last?.dropped['rate-source'] ?? 0) === 0) problems.push('no datagram was counted as rate-source');
  if (samples.length >= 3 && samples[1]!.received === samples.at(-1)!.received) {
    problems.push('the received counter of the metrics endpoint did not move');
  }
  // Flat: compare the window after warm-up (20-40 % of the run) with the last quarter.
  const after = (from: number, to: number): SoakSample[] =>
    samples.filter((s) => s.tMs >= from * o.durationMs && s.tMs <= to * o.durationMs);
  const warm = after(0.2, 0.4);
  const end = after(0.75, 1.1);
  if (warm.length > 0 && end.length > 0) {
    const warmRss = Math.max(...warm.map((s) => s.rssBytes));
    const endRss = Math.max(...end.map((s) => s.rssBytes));
    const slack = Math.max(24 * 2 ** 20, warmRss * 0.2);
    if (endRss - warmRss > slack) {
      problems.push(`RSS grew from ${mb(warmRss)} MB to ${mb(endRss)} MB (allowed +${mb(slack)} MB)`);
    }
    const fds = [...warm, ...end].map((s) => s.fds);
    if (Math.max(...fds) - Math.min(...fds) > 2) {
      problems.push(`descriptor count moved between ${Math.min(...fds)} and ${Math.max(...fds)}`);
    }
  } else {
    problems.push('too few samples to judge RSS and descriptors');
  }
}

/** The one-screen report of `npm run soak`. */
export function renderSoakReport(r: SoakReport, rows = 12): string {
  const out: string[] = [];
  const s = r.samples;
  out.push(
    `echolot soak: ${Math.round(r.options.durationMs / 1000)} s, steady ${r.options.steadyRate}/s, ` +
      `flooder ${r.options.perSourceLimit * 3}/s (limit ${r.options.perSourceLimit}/s), ICMP storm ` +
      `${r.options.icmpPerSecond} sockets/s, ${r.options.burstSize} max-size datagrams per family every ` +
      `${r.options.burstEveryMs / 1000} s`,
  );
  out.push('');
  out.push(
    `${pad('t', 7)}${pad('RSS MB', 8)}${pad('fds', 5)}${pad('rx', 10)}${pad('tx', 10)}` +
      `${pad('rx/s', 7)}${pad('rate-src', 10)}${pad('queue', 7)}other drops`,
  );
  const step = Math.max(1, Math.ceil((s.length - 1) / rows));
  const picked = s.filter((_, i) => i % step === 0 || i === s.length - 1);
  let prev: SoakSample | undefined;
  for (const x of picked) {
    const rate = prev ? Math.round((x.received - prev.received) / ((x.tMs - prev.tMs) / 1000 || 1)) : 0;
    const other = Object.entries(x.dropped)
      .filter(([k, v]) => v > 0 && k !== 'rate-source' && k !== 'queue-full')
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    out.push(
      `${pad(`${(x.tMs / 1000).toFixed(0)}s`, 7)}${pad(mb(x.rssBytes), 8)}${pad(String(x.fds), 5)}` +
        `${pad(String(x.received), 10)}${pad(String(x.echoed), 10)}${pad(String(rate), 7)}` +
        `${pad(String(x.dropped['rate-source'] ?? 0), 10)}${pad(String(x.dropped['queue-full'] ?? 0), 7)}${other || '-'}`,
    );
    prev = x;
  }
  out.push('');
  out.push(
    `client: sent ${r.sent}, verified ${r.verified}, steady lost ${r.lostSteady}/${r.sentSteady}, ` +
      `duplicates ${r.duplicates}, misaddressed ${r.misaddressed}, corrupt ${r.corrupt}`,
  );
  out.push(
    `        ${r.distinctSourcePorts} distinct source ports, ${r.icmpSockets} closed-port sockets, ` +
      `max-size ${r.maxSizeVerified}/${r.maxSizeSent} verified, flooder ${r.flooderEchoed}/${r.flooderSent} answered`,
  );
  out.push(`server: exit ${r.exitCode}; ${r.summaryLine.replace(/^echolot serve: /, '')}`);
  out.push(r.problems.length === 0 ? 'PASS' : `FAIL: ${r.problems.join('; ')}`);
  return `${out.join('\n')}\n`;
}

// ---- traffic generators ----------------------------------------------------------------------

/** 8 long-lived sockets on 127.0.1.1-8, each paced at steadyRate/8, every reply verified byte for byte. */
async function steady(target: Target, o: SoakOptions, deadline: number, t: Tally): Promise<void> {
  const clients = 8;
  const perClientMs = (1000 * clients) / o.steadyRate;
  await Promise.all(
    Array.from({ length: clients }, async (_, i) => {
      const socket = await bindSocket('udp4', `127.0.1.${i + 1}`);
      const me = socket.address().port;
      notePort(t, me);
      const seen = new Uint8Array(Math.ceil((o.durationMs / perClientMs) * 1.2) + 16);
      let sent = 0;
      let got = 0;
      socket.on('message', (msg, from) => {
        if (!fromServer(from, target.v4, target.port) || msg.length < HEADER || msg.readUInt32BE(4) !== me) {
          t.misaddressed++;
          return;
        }
        const seq = msg.readUInt32BE(8);
        if (seq >= seen.length || !payload(steadySize(seq), me, seq).equals(msg)) {
          t.corrupt++;
          return;
        }
        if (seen[seq] === 1) {
          t.duplicates++;
          return;
        }
        seen[seq] = 1;
        got++;
        t.verified++;
      });
      try {
        const start = Date.now();
        while (Date.now() < deadline && sent < seen.length) {
          const due = start + sent * perClientMs;
          if (due > Date.now()) await sleep(due - Date.now());
          socket.send(payload(steadySize(sent), me, sent), target.port, target.v4);
          sent++;
          t.sent++;
        }
        await sleep(REPLY_TIMEOUT_MS);
      } finally {
        t.sentSteady += sent;
        t.lostSteady += sent - got;
        await closeSocket(socket);
      }
    }),
  );
}

/** One source above its per-source limit: 3x the limit from 127.0.0.66. */
async function flooder(target: Target, o: SoakOptions, deadline: number, t: Tally): Promise<void> {
  const socket = await bindSocket('udp4', '127.0.0.66');
  const me = socket.address().port;
  notePort(t, me);
  socket.on('message', (msg, from) => {
    if (!fromServer(from, target.v4, target.port) || msg.readUInt32BE(4) !== me) t.misaddressed++;
    else t.flooderEchoed++;
  });
  try {
    const intervalMs = 1000 / (o.perSourceLimit * 3);
    const start = Date.now();
    let n = 0;
    while (Date.now() < deadline) {
      const due = start + n * intervalMs;
      if (due > Date.now()) await sleep(due - Date.now());
      socket.send(payload(32, me, n), target.port, target.v4);
      n++;
      t.flooderSent++;
      t.sent++;
    }
    await sleep(REPLY_TIMEOUT_MS);
  } finally {
    await closeSocket(socket);
  }
}

/** Sockets that send once and close before the reply comes: the server's replies hit closed ports. */
async function icmpStorm(target: Target, o: SoakOptions, deadline: number, t: Tally): Promise<void> {
  let n = 0;
  while (Date.now() < deadline) {
    const round = Date.now();
    const batch: Promise<void>[] = [];
    for (let i = 0; i < o.icmpPerSecond; i++) {
      const family = target.v6 !== undefined && i % 4 === 3 ? 'udp6' : 'udp4';
      const address = family === 'udp6' ? '::1' : `127.0.3.${(n++ % 200) + 1}`;
      batch.push(
        (async () => {
          const socket = await bindSocket(family, address);
          notePort(t, socket.address().port);
          await new Promise<void>((resolve) =>
            socket.send(payload(64, 0, 0), target.port, family === 'udp6' ? target.v6! : target.v4, () =>
              resolve(),
            ),
          );
          t.sent++;
          t.icmpSockets++;
          await closeSocket(socket);
        })(),
      );
    }
    await Promise.all(batch);
    await sleep(Math.max(0, 1000 - (Date.now() - round)));
  }
}

/** Every burstEveryMs: burstSize datagrams of the maximum size per family, from fresh sockets, verified. */
async function bursts(target: Target, o: SoakOptions, deadline: number, t: Tally): Promise<void> {
  let seq = 0;
  while (Date.now() < deadline) {
    const round = Date.now();
    const families: [SocketType, string, string, number][] = [['udp4', '127.0.4.1', target.v4, MAX_V4]];
    if (target.v6 !== undefined) families.push(['udp6', '::1', target.v6, MAX_V6]);
    await Promise.all(
      families.map(async ([family, local, remote, size]) => {
        const socket = await bindSocket(family, local);
        const me = socket.address().port;
        notePort(t, me);
        const first = seq;
        seq += o.burstSize;
        const seen = new Set<number>();
        socket.on('message', (msg, from) => {
          if (!fromServer(from, remote, target.port) || msg.readUInt32BE(4) !== me) {
            t.misaddressed++;
            return;
          }
          const s = msg.readUInt32BE(8);
          if (!payload(size, me, s).equals(msg)) t.corrupt++;
          else if (seen.has(s)) t.duplicates++;
          else {
            seen.add(s);
            t.maxSizeVerified++;
            t.verified++;
          }
        });
        try {
          for (let i = 0; i < o.burstSize; i++) {
            socket.send(payload(size, me, first + i), target.port, remote);
            t.maxSizeSent++;
            t.sent++;
          }
          await sleep(REPLY_TIMEOUT_MS);
        } finally {
          await closeSocket(socket);
        }
      }),
    );
    await sleep(Math.max(0, Math.min(o.burstEveryMs - (Date.now() - round), deadline - Date.now())));
  }
}

/** Short-lived sockets on rotating 127.0.2.x addresses, two verified exchanges each, bounded concurrency. */
async function rotation(target: Target, o: SoakOptions, deadline: number, t: Tally): Promise<void> {
  let n = 0;
  const worker = async (): Promise<void> => {
    while (Date.now() < deadline) {
      const socket = await bindSocket('udp4', `127.0.2.${(n++ % 200) + 1}`);
      const me = socket.address().port;
      notePort(t, me);
      try {
        for (let seq = 0; seq < 2; seq++) {
          const request = payload(48, me, seq);
          const replies = await exchange(socket, request, target.port, target.v4);
          t.sent++;
          for (const [i, r] of replies.entries()) {
            if (!fromServer(r.from, target.v4, target.port) || r.data.readUInt32BE(4) !== me)
              t.misaddressed++;
            else if (!r.data.equals(request)) t.corrupt++;
            else if (i > 0) t.duplicates++;
            else t.verified++;
          }
        }
      } finally {
        await closeSocket(socket);
      }
      await sleep(o.rotationPauseMs);
    }
  };
  await Promise.all(Array.from({ length: o.rotationConcurrency }, worker));
}

// ---- helpers -----------------------------------------------------------------------------------

function notePort(t: Tally, port: number): void {
  if (t.ports[port] === 0) {
    t.ports[port] = 1;
    t.distinctPorts++;
  }
}

function fromServer(from: RemoteInfo, address: string, port: number): boolean {
  return from.address === address && from.port === port;
}

interface Reply {
  readonly data: Buffer;
  readonly from: RemoteInfo;
}

/** Sends and collects replies: up to REPLY_TIMEOUT_MS for the first, then 50 ms more to catch a duplicate. */
function exchange(socket: Socket, data: Buffer, port: number, address: string): Promise<Reply[]> {
  return new Promise((resolve) => {
    const replies: Reply[] = [];
    let timer = setTimeout(done, REPLY_TIMEOUT_MS);
    function done(): void {
      socket.off('message', onMessage);
      resolve(replies);
    }
    function onMessage(msg: Buffer, from: RemoteInfo): void {
      replies.push({ data: msg, from });
      if (replies.length === 1) {
        clearTimeout(timer);
        timer = setTimeout(done, 50);
      }
    }
    socket.on('message', onMessage);
    socket.send(data, port, address);
  });
}

function bindSocket(type: SocketType, address: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(type === 'udp6' ? { type, ipv6Only: true } : { type });
    socket.once('error', (err) => {
      socket.close();
      reject(err);
    });
    socket.bind({ address, port: 0 }, () => {
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

function lines(child: ChildProcess, stream: 'stdout' | 'stderr'): string[] {
  const out: string[] = [];
  let partial = '';
  child[stream]?.on('data', (chunk: Buffer) => {
    const parts = (partial + chunk.toString('utf8')).split('\n');
    partial = parts.pop() ?? '';
    // Bounded: only the first lines matter (listening, metrics URL, summary); warnings past that are dropped.
    for (const p of parts) if (out.length < 1000) out.push(p);
  });
  return out;
}

async function waitLine(list: string[], pattern: RegExp, exited: Promise<unknown>): Promise<RegExpExecArray> {
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + 10_000;
  for (;;) {
    for (const l of list) {
      const m = pattern.exec(l);
      if (m) return m;
    }
    if (gone || Date.now() > deadline) {
      throw new Error(`the server did not print ${pattern}; got: ${JSON.stringify(list.slice(0, 20))}`);
    }
    await sleep(20);
  }
}

async function scrape(url: string): Promise<Pick<SoakSample, 'received' | 'echoed' | 'dropped'>> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  const text = await res.text();
  const sum = (name: string, filter?: (labels: string) => boolean): number => {
    let total = 0;
    for (const m of text.matchAll(new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`, 'gm'))) {
      if (filter === undefined || filter(m[1]!)) total += Number(m[2]);
    }
    return total;
  };
  const dropped: Record<string, number> = {};
  for (const m of text.matchAll(/^echolot_datagrams_dropped_total\{[^}]*reason="([^"]+)"[^}]*\} (\S+)$/gm)) {
    dropped[m[1]!] = (dropped[m[1]!] ?? 0) + Number(m[2]);
  }
  return {
    received: sum('echolot_datagrams_received_total'),
    echoed: sum('echolot_datagrams_echoed_total'),
    dropped,
  };
}

function rss(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

function fdCount(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, ms)));
}

function mb(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1);
}

function pad(s: string, n: number): string {
  return s.padEnd(n);
}
