/** From the rows' samples to the figures of the run: medians, the ratios between rows, bottleneck notes. */
import { LARGE_SIZES, MANY_FLOWS } from './config.js';
import type { Sample } from './generators.js';
import type { Row } from './rows.js';

/** A target for a ratio: `>=` or `<=` this value. Printed next to the ratio; never changes the exit code. */
export interface Goal {
  readonly op: '>=' | '<=';
  readonly value: number;
}

/** One ratio of the summary: a over b, with what it means and, for some, the goal it is held to. */
export interface Ratio {
  readonly name: string;
  readonly of: string;
  readonly over: string;
  readonly value: number | null;
  readonly meaning: string;
  readonly goal?: Goal;
  /** Whether the value meets the goal; null without a value. Absent without a goal. */
  readonly met?: boolean | null;
}

/** The goals: the generator at least as fast as the C one, the reference server as the C mmsg one, ping-pong within 5%. */
const AT_LEAST_C: Goal = { op: '>=', value: 1 };
const PING_PONG_GOAL: Goal = { op: '<=', value: 1.05 };

type RatioSpec = readonly [name: string, of: string, over: string, meaning: string, goal?: Goal];

/** The ratios, in the order they are printed: name, row ids (of, over), meaning, goal. */
const RATIOS: readonly RatioSpec[] = [
  [
    'reference server / C mmsg server',
    'server.reference',
    'server.c-mmsg',
    'share of the machine the reference server reaches',
    AT_LEAST_C,
  ],
  ...LARGE_SIZES.map((size): RatioSpec => [
    `reference server / C mmsg server, ${size} B`,
    `server.reference.${size}`,
    `server.c-mmsg.${size}`,
    `the same with ${size}-byte payloads`,
    AT_LEAST_C,
  ]),
  [
    'naive node server / C mmsg server',
    'server.naive',
    'server.c-mmsg',
    'what plain dgram reaches (about 0.34 in LOAD.md)',
  ],
  [
    'reference server / naive node server',
    'server.reference',
    'server.naive',
    'above 1: the reference server beats the textbook',
  ],
  ['C loop / C mmsg server', 'server.c-loop', 'server.c-mmsg', 'what batching buys in C'],
  [
    'inetd / C mmsg server (veth)',
    'server.inetd-veth',
    'server.c-mmsg-veth',
    'openbsd-inetd against the ceiling, same veth path',
  ],
  [
    'echolot generator / naive generator',
    'generator.echolot',
    'generator.naive',
    'above 1: the generator beats the textbook',
  ],
  [
    'echolot generator / C generator',
    'generator.echolot',
    'generator.c-mmsg',
    'share of the machine the generator reaches',
    AT_LEAST_C,
  ],
  [
    "echolot generator, data-plane thread / Node's loop",
    'generator.echolot',
    'generator.echolot-loop',
    'above 1: the thread of its own helps the flood',
  ],
  ...LARGE_SIZES.map((size): RatioSpec => [
    `echolot generator / C generator, ${size} B`,
    `generator.echolot.${size}`,
    `generator.c-mmsg.${size}`,
    `the same with ${size}-byte payloads`,
    AT_LEAST_C,
  ]),
  [
    `echolot generator / C generator, ${MANY_FLOWS} flows`,
    `generator.echolot.${MANY_FLOWS}-flows`,
    `generator.c-mmsg.${MANY_FLOWS}-flows`,
    `the same with ${MANY_FLOWS} client sockets, one datagram outstanding each`,
    AT_LEAST_C,
  ],
  [
    'ping-pong p50 echolot / C',
    'ping-pong.echolot',
    'ping-pong.c',
    'round-trip overhead of the node generator (1 = none)',
    PING_PONG_GOAL,
  ],
  [
    "ping-pong p50 data-plane thread / Node's loop",
    'ping-pong.echolot',
    'ping-pong.echolot-loop',
    'below 1: the thread of its own shortens the round trip',
  ],
  [
    'rate-mode send lag p99 echolot / C',
    'rate.echolot',
    'rate.c',
    'how closely the schedule is kept at 100k/s, against a C loop on the same CPU (1 = as closely)',
  ],
  [
    'ping-pong p50 echolot / sockperf',
    'ping-pong.echolot',
    'sockperf.ping-pong',
    "against sockperf's own client and server (outside reference)",
  ],
];

/** Whether `value` meets `goal` (null without a value). */
export function meets(value: number | null, goal: Goal): boolean | null {
  if (value === null) return null;
  return goal.op === '>=' ? value >= goal.value : value <= goal.value;
}

/** The median of the finite values, NaN when there are none. */
export function median(values: readonly number[]): number {
  const s = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/**
 * The number a sample contributes to its row: echoes/s for flood rows, p50 in us for ping-pong rows,
 * the send lag p99 in us for rate-precision rows.
 */
export function figure(sample: Sample): number {
  if ('rate' in sample) return sample.rate;
  return 'lagP99Us' in sample ? sample.lagP99Us : sample.p50Us;
}

/** What the measured rows say. */
export interface Summary {
  /** A row's samples; a row that is the same measurement as another (sameAs) has that row's. */
  samplesOf(row: Row): Sample[];
  /** The median figure of the row with this id (NaN for a skipped or unknown row). */
  medianOf(id: string): number;
  readonly ratios: readonly Ratio[];
  /** One line per sample in which echolot's generator reported itself as the bottleneck. */
  readonly bottlenecks: readonly string[];
}

/** The summary of measured rows. */
export function summarize(rows: readonly Row[]): Summary {
  const byId = new Map(rows.map((r) => [r.id, r]));
  const samplesOf = (row: Row): Sample[] =>
    row.sameAs === undefined ? row.samples : (byId.get(row.sameAs)?.samples ?? []);
  const medianOf = (id: string): number => {
    const row = byId.get(id);
    return row ? median(samplesOf(row).map(figure)) : NaN;
  };
  const ratios = RATIOS.map(([name, of, over, meaning, goal]): Ratio => {
    const v = medianOf(of) / medianOf(over);
    const value = Number.isFinite(v) ? Math.round(v * 1000) / 1000 : null;
    return { name, of, over, value, meaning, ...(goal ? { goal, met: meets(value, goal) } : {}) };
  });
  const bottlenecks = rows.flatMap((r) =>
    samplesOf(r).flatMap((s, i) =>
      'bottleneck' in s && s.bottleneck
        ? [`${r.label}, repetition ${i + 1}: ${s.bottleneck.join('; ')}`]
        : [],
    ),
  );
  return { samplesOf, medianOf, ratios, bottlenecks };
}
