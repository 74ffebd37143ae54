import pLimit from 'p-limit';
import { nonce, patternPayload } from '../../harness/probes/payloads.js';
import {
  exchangeEvidence,
  exchangeWithRetry,
  noReplyPhrase,
  type ExchangeResult,
} from '../../harness/probes/exchange.js';
import { largestEchoed, type SizeProbe } from '../../harness/probes/binary-search.js';
import {
  MAX_PAYLOAD_IPV4,
  MAX_PAYLOAD_IPV6,
  SIZE_LADDER,
  maxPayload,
} from '../../harness/protocol/constants.js';
import { errnoOf } from '../../harness/errors.js';
import { comparePayloads } from '../../harness/results/evidence.js';
import { formatEndpoint } from '../../harness/spec/target.js';
import type { ActiveRun } from '../../harness/runner/active-run.js';
import { conformanceCase, info, met, unsupported, violated } from '../support/case.js';
import { ipv6AddressOf } from '../support/ipv6-address.js';
import { judgeBytes, request } from '../support/request.js';

/** Sizes of the ladder in flight at once: fast on a good server, bounded wait on one that drops large datagrams. */
const LADDER_CONCURRENCY = 8;

/** Socket buffers large enough for the biggest datagrams, so the client never drops them itself. */
const BIG_BUFFER = 1 << 20;

/** One exchange of `size` bytes with the run's target for the binary search of 3.4. */
async function probeSize(run: ActiveRun, size: number): Promise<SizeProbe> {
  try {
    const r = await request(run, () => patternPayload(size), { bufferBytes: BIG_BUFFER });
    if (!r.reply)
      return { size, echoed: false, detail: noReplyPhrase(r, run.options.timeoutMs), attempts: r.attempts };
    const cmp = comparePayloads(r.request.payload, r.reply.data);
    return { size, echoed: cmp.equal, detail: cmp.summary, attempts: r.attempts };
  } catch (err) {
    // The client cannot send this size: for the search it is a size that does not come back.
    if (errnoOf(err) === 'EMSGSIZE')
      return { size, echoed: false, detail: 'this client cannot send it (EMSGSIZE)', attempts: 1 };
    throw err;
  }
}

describe('3 Sizes', () => {
  conformanceCase('3.1', async (run) => {
    const limit = pLimit(LADDER_CONCURRENCY);
    const rows = await Promise.all(
      SIZE_LADDER.map((size) =>
        limit(async () => {
          const r = await request(run, () => patternPayload(size), { bufferBytes: BIG_BUFFER });
          return { size, r, outcome: judgeBytes(run, r) };
        }),
      ),
    );
    const bad = rows.filter((row) => row.outcome.status !== 'met');
    const attempts = Math.max(...rows.map((row) => row.r.attempts));
    const evidence = {
      sizes: rows.map((row) => ({
        size: row.size,
        result: row.outcome.message,
        rttMs: exchangeEvidence(row.r).rttMs,
      })),
      ...(bad[0] ? { firstFailure: exchangeEvidence(bad[0].r) } : {}),
    };
    if (bad.length > 0) {
      const first = bad[0];
      return violated(
        `${bad.length} of ${rows.length} sizes wrong; first: ${first?.size} bytes: ${first?.outcome.message}` +
          (bad.length > 1
            ? `; also ${bad
                .slice(1, 6)
                .map((b) => b.size)
                .join(', ')}${bad.length > 6 ? ', ...' : ''}`
            : ''),
        evidence,
        attempts,
      );
    }
    return met(
      `all ${rows.length} sizes from ${SIZE_LADDER[0]} to ${SIZE_LADDER.at(-1)} bytes came back unchanged`,
      evidence,
      attempts,
    );
  });

  conformanceCase('3.2', async (run) => {
    if (run.target.family !== 'IPv4') return unsupported('the target is IPv6; 65507 bytes is the IPv4 limit');
    try {
      const r = await request(run, () => patternPayload(MAX_PAYLOAD_IPV4), { bufferBytes: BIG_BUFFER });
      return judgeBytes(run, r);
    } catch (err) {
      if (errnoOf(err) === 'EMSGSIZE') {
        return unsupported(`this client cannot send ${MAX_PAYLOAD_IPV4}-byte datagrams (EMSGSIZE)`);
      }
      throw err;
    }
  });

  conformanceCase('3.3', async (run) => {
    const sendable = run.capabilities.maxDatagram.IPv6;
    if (sendable < MAX_PAYLOAD_IPV6) {
      return unsupported(
        sendable === 0
          ? 'this client cannot send IPv6 datagrams here (no ::1)'
          : `this client can send at most ${sendable} bytes over IPv6, not ${MAX_PAYLOAD_IPV6}`,
      );
    }
    const v6 = await ipv6AddressOf(run);
    if (v6.kind === 'unknown') return unsupported(v6.reason);
    const to = { address: v6.address, port: run.target.port };
    const where = formatEndpoint(v6.address, run.target.port);
    const base = { to, family: 'IPv6' as const, timeoutMs: run.options.timeoutMs };
    const evidence: Record<string, unknown> = { ipv6Address: where, how: v6.how };
    if (!v6.isTarget) {
      // An address derived from an IPv4 target may not be the same server: a small echo must come back first.
      const small = await exchangeWithRetry(
        { ...base, connected: true },
        () => Buffer.from(`echolot 3.3 ${nonce()}`, 'latin1'),
        run.options.retries,
      );
      evidence['confirmation'] = exchangeEvidence(small);
      if (!small.reply || !comparePayloads(small.request.payload, small.reply.data).equal) {
        const why = small.reply
          ? 'a small datagram did not come back unchanged'
          : noReplyPhrase(small, run.options.timeoutMs);
        return unsupported(
          `no echo server confirmed at ${where} (${why}); target has no known IPv6 address; check [v6]:${run.target.port}`,
          evidence,
        );
      }
    }
    let r: ExchangeResult;
    try {
      r = await exchangeWithRetry(
        { ...base, bufferBytes: BIG_BUFFER },
        () => patternPayload(MAX_PAYLOAD_IPV6),
        run.options.retries,
      );
    } catch (err) {
      if (errnoOf(err) === 'EMSGSIZE') {
        return unsupported(
          `this client cannot send ${MAX_PAYLOAD_IPV6}-byte datagrams to ${where} (EMSGSIZE)`,
          evidence,
        );
      }
      throw err;
    }
    const outcome = judgeBytes(run, r);
    const full = { ...evidence, ...outcome.evidence };
    return outcome.status === 'met'
      ? met(`${outcome.message} at ${where}`, full, outcome.attempts)
      : violated(`${outcome.message} at ${where}`, full, outcome.attempts);
  });

  conformanceCase('3.4', async (run) => {
    const max = maxPayload(run.target.family);
    const found = await largestEchoed(max, (size) => probeSize(run, size));
    const evidence = {
      familyMax: max,
      exchanges: found.probes.length,
      probes: found.probes.map((p) => ({
        size: p.size,
        echoed: p.echoed,
        result: p.detail,
        attempts: p.attempts,
      })),
    };
    const next = found.firstNotEchoed;
    if (found.largest === undefined) {
      return info(
        `no size came back unchanged, not even 0 bytes (${next?.detail ?? 'no probe'}); ${found.probes.length} probes`,
        evidence,
      );
    }
    if (found.largest === max) {
      return info(
        `largest size echoed: ${max} bytes, the ${run.target.family} maximum; ${found.probes.length} probe`,
        evidence,
      );
    }
    return info(
      `largest size echoed: ${found.largest} bytes of 0..${max} (${next?.size} bytes: ${next?.detail}); ${found.probes.length} probes`,
      evidence,
    );
  });
});
