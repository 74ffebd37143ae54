import pLimit from 'p-limit';
import { allByteValues, patternPayload } from '../../../harness/protocol/payloads.js';
import {
  dualExchange,
  exchangeEvidence,
  type Exchange,
  type ExchangeOptions,
} from '../../../harness/conformance/exchange.js';
import { MAX_PAYLOAD_IPV6, SIZE_LADDER } from '../../../harness/protocol/constants.js';
import { errnoOf } from '../../../harness/errors.js';
import { met, unsupported, violated } from '../../../harness/conformance/case.js';
import { ipv6AddressOf } from '../support/ipv6-address.js';
import { formatEndpoint, type Endpoint } from '../../../harness/core/address.js';
import type { CaseOutcome, ConformanceCase } from '../../../harness/conformance/case.js';
import type { CaseContext } from '../../../harness/conformance/context.js';
import { judgeBytes, request } from '../../../harness/conformance/request.js';

/** How long case 8.1 keeps listening for a second reply to its small request. */
const GRACE_MS = 250;

/** Sizes of the ladder in flight at once (as in case 3.1). */
const LADDER_CONCURRENCY = 8;

/** Socket buffers large enough for the biggest datagrams. */
const BIG_BUFFER = 1 << 20;

/** One of the section 1-3 checks over IPv6: bytes judged like case 2.1/3.1, plus the port and duplicates where asked. */
async function check6(
  ctx: CaseContext,
  to: Endpoint,
  check: string,
  make: () => Uint8Array,
  extras: ExchangeOptions = {},
): Promise<Row> {
  const r = await request(ctx, make, { to, family: 'IPv6', ...extras });
  let outcome = judgeBytes(ctx, r);
  if (outcome.status === 'met' && r.reply && r.reply.from.port !== to.port) {
    outcome = violated(
      `the reply came from port ${r.reply.from.port}, not ${to.port}`,
      outcome.evidence,
      r.attempts,
    );
  }
  return { check, outcome, r };
}

/** One named check of case 8.1 and what it found. */
interface Row {
  readonly check: string;
  readonly outcome: CaseOutcome;
  readonly r?: Exchange;
}

/** 8.1: over IPv6 the server passes the checks of sections 1-3. */
export const case8_1: ConformanceCase = {
  id: '8.1',
  title: 'over IPv6 the server passes the checks of sections 1-3',
  klass: 'MUST',
  capability:
    'an IPv6 address of the target: an IPv6 target, ::1 for the embedded default and for 127/8 targets, a host name with an AAAA record',
  requirement:
    'Over IPv6 a small datagram comes back once from the echo port, a zero-length one as zero-length, all 256 byte values and NULs unchanged, every size of the ladder and 65527 bytes in full.',
  source: 'RFC 862, RFC 768, RFC 8200',
  provenBy: ['ipv6-truncate-65507', 'dual-stack-ipv6-truncate-65507', 'ipv6-truncate-1024'],
  run: async (ctx) => {
    const found = await ipv6AddressOf(ctx);
    if (found.kind === 'unknown') return unsupported(found.reason);
    const to = { address: found.address, port: ctx.target.port };
    const at = formatEndpoint(to.address, to.port);
    // An address derived from an IPv4 target may simply not be served: that is no IPv6 failure.
    if (!found.isTarget) {
      // Retried after a timeout like any request: a server that drops a datagram now and then is not IPv4-only.
      let seen = await dualExchange(ctx.wire, to, 'IPv6', ctx.wire.text(), ctx.timing.timeoutMs);
      for (let attempt = 2; seen.kind === 'timeout' && attempt <= ctx.timing.attempts; attempt++) {
        seen = await dualExchange(ctx.wire, to, 'IPv6', ctx.wire.text(), ctx.timing.timeoutMs);
      }
      if (seen.kind !== 'reply') {
        const why = seen.kind === 'fault' ? seen.fault.errno : 'no reply';
        return unsupported(
          `the server does not answer over IPv6 at ${at} (${why}; ${found.how}): IPv4 only?`,
        );
      }
    }
    const rows: Row[] = [];
    rows.push(
      await check6(ctx, to, 'small datagram once (1.1, 1.4)', () => ctx.wire.text(), { graceMs: GRACE_MS }),
    );
    rows.push(await check6(ctx, to, 'zero-length (1.2)', () => Buffer.alloc(0)));
    rows.push(await check6(ctx, to, 'all 256 byte values (2.1)', () => allByteValues()));
    for (const [where, hex] of [
      ['start', '006563686f6c6f7420382e31'],
      ['middle', '6563686f006c6f7420382e31'],
      ['end', '6563686f6c6f7420382e3100'],
    ] as const) {
      rows.push(await check6(ctx, to, `NUL at the ${where} (2.2)`, () => Buffer.from(hex, 'hex')));
    }
    const limit = pLimit(ctx.timing.concurrency(LADDER_CONCURRENCY));
    const ladder = await Promise.all(
      SIZE_LADDER.map((size) =>
        limit(() =>
          check6(ctx, to, `${size} bytes (3.1)`, () => patternPayload(size, ctx.wire.nonce()), {
            bufferBytes: BIG_BUFFER,
          }),
        ),
      ),
    );
    rows.push(...ladder);
    let maxNote = '';
    if (ctx.capabilities.maxDatagram.IPv6 >= MAX_PAYLOAD_IPV6) {
      try {
        rows.push(
          await check6(
            ctx,
            to,
            `${MAX_PAYLOAD_IPV6} bytes (3.3)`,
            () => patternPayload(MAX_PAYLOAD_IPV6, ctx.wire.nonce()),
            {
              bufferBytes: BIG_BUFFER,
            },
          ),
        );
      } catch (err) {
        if (errnoOf(err) !== 'EMSGSIZE') throw err;
        maxNote = `; ${MAX_PAYLOAD_IPV6} bytes not sent (EMSGSIZE)`;
      }
    } else {
      maxNote = `; ${MAX_PAYLOAD_IPV6} bytes not sent (this client cannot send them over IPv6)`;
    }
    const bad = rows.filter((row) => row.outcome.status !== 'met');
    const attempts = Math.max(...rows.map((row) => row.r?.attempts ?? 1));
    const evidence = {
      address: at,
      why: found.how,
      checks: rows.map((row) => ({ check: row.check, result: row.outcome.message })),
      ...(bad[0]?.r ? { firstFailure: exchangeEvidence(bad[0].r) } : {}),
    };
    if (bad.length > 0) {
      const more =
        bad.length > 1
          ? `; also ${bad
              .slice(1, 5)
              .map((b) => b.check)
              .join(', ')}${bad.length > 5 ? ', ...' : ''}`
          : '';
      return violated(
        `over IPv6 at ${at}, ${bad.length} of ${rows.length} checks wrong; first: ${bad[0]?.check}: ${bad[0]?.outcome.message}${more}`,
        evidence,
        attempts,
      );
    }
    return met(
      `over IPv6 at ${at} (${found.how}) all ${rows.length} checks of sections 1-3 passed${maxNote}`,
      evidence,
      attempts,
    );
  },
};
