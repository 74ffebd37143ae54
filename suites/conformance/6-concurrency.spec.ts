import pLimit from 'p-limit';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { nonce } from '../../harness/probes/payloads.js';
import { EchoClient, type Datagram } from '../../harness/net/echo-client.js';
import type { ActiveRun } from '../../harness/runner/active-run.js';
import { formatEndpoint } from '../../harness/spec/target.js';
import { conformanceCase, met, violated } from '../support/case.js';

/** Concurrent clients of case 6.1 (all in flight at once through p-limit). */
const CLIENTS = 32;

/** Requests each client of case 6.1 sends, one after another. */
const REQUESTS_PER_CLIENT = 4;

/** Clients of case 6.2 that send the same bytes at the same moment. */
const SAME_PAYLOAD_CLIENTS = 12;

/** Bursts of case 6.3 and datagrams per burst. */
const BURSTS = 4;
const BURST_SIZE = 16;

/** How long after the expected replies a further copy still counts (short; 5.1 waits longer for duplicates). */
const GRACE_MS = 50;

/** The first bytes of a datagram as text, for messages. */
const preview = (d: Datagram): string => {
  const s = d.data.toString('latin1', 0, 40).replace(/[^\x20-\x7e]/g, '.');
  return `'${s}${d.data.length > 40 ? '...' : ''}' (${d.data.length} bytes)`;
};

/** Opens `n` client sockets of the target's family; closes what was opened if one fails. */
async function openClients(run: ActiveRun, n: number): Promise<EchoClient[]> {
  const settled = await Promise.allSettled(
    Array.from({ length: n }, () => EchoClient.open({ family: run.target.family, bufferBytes: 1 << 20 })),
  );
  const clients = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed) {
    await Promise.all(clients.map((c) => c.close()));
    throw failed.reason;
  }
  return clients;
}

/** What one client of case 6.1 saw. */
interface ClientReport {
  readonly client: number;
  readonly port: number;
  readonly attempts: number;
  /** Late or repeated replies to this client's own earlier requests (tolerated). */
  readonly stale: number;
  readonly problem?: string;
}

describe('6 Concurrency and isolation', () => {
  conformanceCase('6.1', async (run) => {
    const to = { address: run.target.address, port: run.target.port };
    const owner = new Map<string, number>();
    const clients = await openClients(run, CLIENTS);
    try {
      const one = async (client: EchoClient, k: number): Promise<ClientReport> => {
        const port = client.local().port;
        // Everything this client sent: a late reply to a timed-out request is still its own.
        const mine = new Set<string>();
        let stale = 0;
        let maxAttempts = 1;
        for (let i = 0; i < REQUESTS_PER_CLIENT; i++) {
          let answered = false;
          for (let attempt = 1; attempt <= run.options.retries + 1 && !answered; attempt++) {
            maxAttempts = Math.max(maxAttempts, attempt);
            const text = `echolot 6.1 client ${k} request ${i} ${nonce()}`;
            owner.set(text, k);
            mine.add(text);
            await client.send(Buffer.from(text, 'latin1'), to);
            const deadline = Date.now() + run.options.timeoutMs;
            for (;;) {
              const o = await client.receive(deadline - Date.now());
              if (o.kind === 'timeout') break;
              if (o.kind === 'fault') continue;
              const got = o.datagram.data.toString('latin1');
              if (got === text) {
                answered = true;
                break;
              }
              if (mine.has(got)) {
                stale++;
                continue;
              }
              const from = owner.get(got);
              const whose =
                from === undefined
                  ? `a datagram no client sent: ${preview(o.datagram)}`
                  : `client ${from}'s reply`;
              return { client: k, port, attempts: attempt, stale, problem: `request ${i}: got ${whose}` };
            }
          }
          if (!answered) {
            return {
              client: k,
              port,
              attempts: maxAttempts,
              stale,
              problem: `request ${i}: no reply within ${run.options.timeoutMs} ms after ${run.options.retries + 1} attempts`,
            };
          }
        }
        return { client: k, port, attempts: maxAttempts, stale };
      };
      const limit = pLimit(CLIENTS);
      const reports = await Promise.all(clients.map((c, k) => limit(() => one(c, k))));
      const bad = reports.filter((r) => r.problem !== undefined);
      const attempts = Math.max(...reports.map((r) => r.attempts));
      const evidence = {
        clients: CLIENTS,
        requestsPerClient: REQUESTS_PER_CLIENT,
        to: formatEndpoint(to.address, to.port),
        staleOwnReplies: reports.reduce((n, r) => n + r.stale, 0),
        problems: bad.slice(0, 20).map((b) => `client ${b.client} (port ${b.port}): ${b.problem}`),
        problemCount: bad.length,
      };
      const first = bad[0];
      if (first) {
        return violated(
          `${bad.length} of ${CLIENTS} clients did not get only their own replies; first: client ${first.client} (port ${first.port}), ${first.problem}`,
          evidence,
          attempts,
        );
      }
      return met(
        `${CLIENTS} concurrent clients sent ${REQUESTS_PER_CLIENT} requests each and received only their own replies`,
        evidence,
        attempts,
      );
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  conformanceCase('6.2', async (run) => {
    const to = { address: run.target.address, port: run.target.port };
    const clients = await openClients(run, SAME_PAYLOAD_CLIENTS);
    try {
      const earlier = new Set<string>();
      const problems: string[] = [];
      const copiesPerClient = new Array<number>(clients.length).fill(0);
      let group = clients.map((_, k) => k);
      let attempts = 0;
      for (let attempt = 1; attempt <= run.options.retries + 1 && group.length > 0; attempt++) {
        attempts = attempt;
        // One payload for the whole group, sent by every client at the same moment.
        const text = `echolot 6.2 ${nonce()}`;
        const payload = Buffer.from(text, 'latin1');
        const copies = new Map(group.map((k) => [k, 0]));
        const judge = (k: number, d: Datagram): boolean => {
          const got = d.data.toString('latin1');
          if (got === text) {
            copies.set(k, (copies.get(k) ?? 0) + 1);
            return true;
          }
          // A late reply to a timed-out earlier attempt: it carries no new information.
          if (earlier.has(got)) return false;
          problems.push(`client ${k}: got a datagram that is not the shared payload: ${preview(d)}`);
          return false;
        };
        await Promise.all(group.map((k) => clients[k]?.send(payload, to)));
        await Promise.all(
          group.map(async (k) => {
            const client = clients[k];
            if (!client) return;
            const deadline = Date.now() + run.options.timeoutMs;
            for (;;) {
              const o = await client.receive(deadline - Date.now());
              if (o.kind === 'timeout') return;
              if (o.kind === 'datagram' && judge(k, o.datagram)) return;
            }
          }),
        );
        // Every client got its first copy (or timed out); now a further copy anywhere is a duplicate.
        await Promise.all(
          group.map(async (k) => {
            for (const d of (await clients[k]?.drain(GRACE_MS)) ?? []) judge(k, d);
          }),
        );
        earlier.add(text);
        for (const [k, n] of copies) {
          copiesPerClient[k] = n;
          if (n > 1) problems.push(`client ${k}: ${n} copies of the shared payload`);
        }
        if (problems.length > 0) break;
        group = group.filter((k) => copies.get(k) === 0);
      }
      const evidence = {
        clients: clients.length,
        ports: clients.map((c) => c.local().port),
        to: formatEndpoint(to.address, to.port),
        copiesPerClient,
        graceMs: GRACE_MS,
        problems: problems.slice(0, 20),
      };
      if (problems.length > 0) {
        const without = copiesPerClient.filter((n) => n === 0).length;
        return violated(
          `identical payloads from ${clients.length} clients: ${problems[0]}` +
            (without > 0 ? `; ${without} clients got no copy` : '') +
            (problems.length > 1 ? ` (${problems.length} problems)` : ''),
          evidence,
          attempts,
        );
      }
      if (group.length > 0) {
        return violated(
          `${group.length} of ${clients.length} clients sending identical payloads got no reply within ${run.options.timeoutMs} ms after ${attempts} attempts`,
          evidence,
          attempts,
        );
      }
      return met(
        `${clients.length} clients sent identical payloads at once and each got exactly one copy`,
        evidence,
        attempts,
      );
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  conformanceCase('6.3', async (run) => {
    const to = { address: run.target.address, port: run.target.port };
    const client = await EchoClient.open({ family: run.target.family, bufferBytes: 1 << 20 });
    try {
      const total = BURSTS * BURST_SIZE;
      const answered = new Set<string>();
      // Requests given up on after a timeout: their late reply is tolerated once.
      const superseded = new Set<string>();
      const sentAll = new Set<string>();
      const problems: string[] = [];
      let duplicates = 0;
      let pending = new Set<string>();
      let attempts = 0;
      let toSend = total;
      const judge = (d: Datagram): void => {
        const got = d.data.toString('latin1');
        if (pending.delete(got)) answered.add(got);
        else if (superseded.delete(got)) return;
        else if (sentAll.has(got)) {
          duplicates++;
          problems.push(`a second reply to one request: ${preview(d)}`);
        } else problems.push(`a reply that matches no request: ${preview(d)}`);
      };
      for (let attempt = 1; attempt <= run.options.retries + 1 && toSend > 0; attempt++) {
        attempts = attempt;
        const batch = Array.from({ length: toSend }, (_, i) => {
          // One length for all, so a server that answers a request with another's bytes is caught by content alone.
          return `echolot 6.3 ${nonce()} ${String(i).padStart(3, '0')}`;
        });
        pending = new Set(batch);
        for (const t of batch) sentAll.add(t);
        for (let b = 0; b < batch.length; b += BURST_SIZE) {
          await Promise.all(
            batch.slice(b, b + BURST_SIZE).map((t) => client.send(Buffer.from(t, 'latin1'), to)),
          );
          // Let the replies to this burst start arriving while the next burst goes out.
          await yieldToLoop();
        }
        const deadline = Date.now() + run.options.timeoutMs;
        while (pending.size > 0 && problems.length === 0) {
          const o = await client.receive(deadline - Date.now());
          if (o.kind === 'timeout') break;
          if (o.kind === 'datagram') judge(o.datagram);
        }
        if (problems.length > 0) break;
        for (const t of pending) superseded.add(t);
        toSend = pending.size;
      }
      if (problems.length === 0 && pending.size === 0) {
        for (const d of await client.drain(GRACE_MS)) judge(d);
      }
      const local = client.local();
      const evidence = {
        local: formatEndpoint(local.address, local.port),
        to: formatEndpoint(to.address, to.port),
        bursts: BURSTS,
        burstSize: BURST_SIZE,
        requests: sentAll.size,
        answered: answered.size,
        duplicates,
        unanswered: pending.size,
        graceMs: GRACE_MS,
        problems: problems.slice(0, 20),
      };
      if (problems.length > 0) {
        return violated(
          `${problems.length} replies in ${BURSTS} interleaved bursts of ${BURST_SIZE} did not map 1:1 to requests; first: ${problems[0]}`,
          evidence,
          attempts,
        );
      }
      if (pending.size > 0) {
        return violated(
          `${pending.size} of ${total} requests in bursts got no reply within ${run.options.timeoutMs} ms after ${attempts} attempts`,
          evidence,
          attempts,
        );
      }
      return met(
        `${total} requests in ${BURSTS} interleaved bursts of ${BURST_SIZE} on one socket each got exactly one reply`,
        evidence,
        attempts,
      );
    } finally {
      await client.close();
    }
  });
});
