import pLimit from 'p-limit';
import { patternPayload } from '../../../harness/protocol/payloads.js';
import { exchange, exchangeEvidence, type Exchange } from '../../../harness/conformance/exchange.js';
import { maxPayload } from '../../../harness/protocol/constants.js';
import { comparePayloads } from '../../../harness/results/evidence.js';
import { routeMtu } from '../../../harness/testhost/route.js';
import { errnoOf } from '../../../harness/errors.js';
import { info } from '../../../harness/conformance/case.js';
import type { ConformanceCase } from '../../../harness/conformance/case.js';

/** Sends of each size: loss is a rate, so one lost datagram is not the whole story. */
const REPEATS = 3;

/** Exchanges in flight at once. */
const CONCURRENCY = 4;

/** Sizes of the catalogue (just above MTU 1500: one, two and several fragments) and larger ones. */
const FIXED_SIZES = [1473, 2961, 8193, 16384, 32768];

/** Socket buffers large enough for the biggest datagrams. */
const BIG_BUFFER = 1 << 20;

/** What the sends of one size found. */
interface SizeRow {
  readonly size: number;
  readonly fragments: number | undefined;
  readonly exact: number;
  readonly lost: number;
  readonly damaged: readonly string[];
  readonly notSent: string | undefined;
  readonly first: Exchange | undefined;
}

/** Fragments of one datagram of `size` payload bytes over `mtu` (every fragment but the last carries a multiple of 8). */
function fragmentsFor(size: number, mtu: number, ipv4: boolean): number {
  const ipHeader = ipv4 ? 20 : 40;
  const fragHeader = ipv4 ? 0 : 8;
  const udp = size + 8;
  if (udp + ipHeader <= mtu) return 1;
  const perFragment = Math.floor((mtu - ipHeader - fragHeader) / 8) * 8;
  return Math.ceil(udp / perFragment);
}

/** 9.1: datagrams just above the path MTU come back byte-exact (loss by size). */
export const case9_1: ConformanceCase = {
  id: '9.1',
  title: 'datagrams just above the path MTU come back byte-exact (loss by size)',
  klass: 'INFO',
  requirement:
    'Sizes just above the path MTU (1473, 2961 and 8193 bytes over an MTU of 1500) and larger ones are reassembled and echoed byte-exact; loss is reported by size.',
  source: 'RFC 791 §2.3, RFC 8200 §4.5, RFC 8085 §3.2',
  provenBy: ['drops-fragmented'],
  run: async (ctx) => {
    const ipv4 = ctx.target.family === 'IPv4';
    const route = await routeMtu(ctx.target.address);
    const max = Math.min(
      maxPayload(ctx.target.family),
      ctx.capabilities.maxDatagram[ctx.target.family] || Infinity,
    );
    const overhead = ipv4 ? 28 : 48;
    const derived = route ? [route.mtu - overhead, route.mtu - overhead + 1] : [];
    const sizes = [...new Set([...derived, ...FIXED_SIZES, max])]
      .filter((s) => s > 0 && s <= max)
      .sort((a, b) => a - b);
    const limit = pLimit(ctx.timing.concurrency(CONCURRENCY));
    const rows: SizeRow[] = await Promise.all(
      sizes.map((size) =>
        limit(async (): Promise<SizeRow> => {
          let exact = 0;
          let lost = 0;
          let notSent: string | undefined;
          const damaged: string[] = [];
          let first: Exchange | undefined;
          for (let i = 0; i < REPEATS && notSent === undefined; i++) {
            try {
              // One attempt each: loss by size is what this case measures.
              const r = await exchange(
                ctx.wire,
                () => patternPayload(size, ctx.wire.nonce()),
                { attempts: 1, timeoutMs: ctx.timing.timeoutMs },
                { bufferBytes: BIG_BUFFER },
              );
              if (!r.reply) {
                lost++;
                first ??= r;
                continue;
              }
              const cmp = comparePayloads(r.request.payload, r.reply.data);
              if (cmp.equal) exact++;
              else {
                damaged.push(cmp.summary);
                first ??= r;
              }
            } catch (err) {
              notSent = errnoOf(err) ?? String(err);
            }
          }
          return {
            size,
            fragments: route ? fragmentsFor(size, route.mtu, ipv4) : undefined,
            exact,
            lost,
            damaged,
            notSent,
            first,
          };
        }),
      ),
    );
    const pathText = route
      ? `path MTU ${route.mtu} (dev ${route.device})`
      : 'path MTU unknown (ip route get gave none)';
    const fragmenting = rows.filter((r) => (r.fragments ?? 0) > 1);
    const evidence = {
      path: route ?? 'unknown',
      repeats: REPEATS,
      sizes: rows.map((r) => ({
        size: r.size,
        ...(r.fragments === undefined ? {} : { fragments: r.fragments }),
        exact: r.exact,
        lost: r.lost,
        ...(r.damaged.length ? { damaged: r.damaged } : {}),
        ...(r.notSent ? { notSent: r.notSent } : {}),
      })),
      ...(rows.find((r) => r.first)?.first
        ? { firstProblem: exchangeEvidence(rows.find((r) => r.first)?.first as Exchange) }
        : {}),
    };
    const perSize = rows
      .map((r) => {
        const frag =
          r.fragments === undefined ? '' : ` (${r.fragments} fragment${r.fragments === 1 ? '' : 's'})`;
        const result = r.notSent
          ? `not sent: ${r.notSent}`
          : `${r.exact}/${REPEATS} exact${r.lost ? `, ${r.lost} lost` : ''}${r.damaged.length ? `, ${r.damaged.length} damaged (${r.damaged[0]})` : ''}`;
        return `${r.size} B${frag}: ${result}`;
      })
      .join('; ');
    const allExact = rows.every((r) => r.notSent === undefined && r.exact === REPEATS);
    const sizeList = rows.map((r) => r.size).join(', ');
    const scope =
      route && fragmenting.length === 0
        ? `: none of these sizes fragments on this path${route.device === 'lo' ? ' (loopback); give a target behind a real link, e.g. a test host, to measure fragmentation' : ''}`
        : route
          ? `: ${fragmenting.length} of ${rows.length} sizes fragment`
          : '';
    // When nothing fragments and nothing is lost, the per-size detail says nothing the summary does not.
    const detail =
      allExact && fragmenting.length === 0
        ? `all of ${sizeList} bytes ${REPEATS}/${REPEATS} byte-exact`
        : perSize;
    return info(`${pathText}${scope}; ${detail}`, evidence);
  },
};
