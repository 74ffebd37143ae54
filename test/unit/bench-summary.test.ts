import { expect } from 'chai';
import { BrokenSetup, parseArgs } from '../../bench/config.js';
import type { FloodShape } from '../../bench/generators.js';
import { renderSummary, renderTable } from '../../bench/render.js';
import { largeShape, manyFlowsShape, type Row } from '../../bench/rows.js';
import { parsePingPong, parseThroughput } from '../../bench/sockperf.js';
import { summarize } from '../../bench/summary.js';

/** A measured flood row with these rates (echoes/s). */
function floodRow(id: string, rates: number[], payloadBytes = 64): Row {
  return {
    id,
    group: 'generator',
    label: id,
    unit: 'echoes/s',
    payloadBytes,
    samples: rates.map((rate) => ({ rate })),
  };
}

function pingPongRow(id: string, p50s: number[]): Row {
  return {
    id,
    group: 'ping-pong',
    label: id,
    unit: 'us p50',
    samples: p50s.map((p50Us) => ({ p50Us, p99Us: p50Us * 2 })),
  };
}

describe('bench: ratios of medians, goals and sockperf output', () => {
  it('--reps 5 gives five interleaved repetitions; a bad value names the flag, the range and the value', () => {
    expect(parseArgs(['--reps', '5']).reps).to.equal(5);
    expect(parseArgs(['--quick']).extraFloodMs).to.equal(200);
    expect(parseArgs(['--quick', '--duration-ms', '300']).extraFloodMs).to.equal(300);
    expect(() => parseArgs(['--reps', '0'])).to.throw(
      BrokenSetup,
      '--reps must be a positive integer, got "0"',
    );
    expect(() => parseArgs(['--reps', '2.5'])).to.throw(BrokenSetup, 'got "2.5"');
    expect(() => parseArgs(['--flows', '5000'])).to.throw(
      BrokenSetup,
      '--flows must be an integer 1..1024, got "5000"',
    );
    expect(() => parseArgs(['--window'])).to.throw(
      BrokenSetup,
      '--window must be an integer 1..65536, got nothing',
    );
  });

  it('takes the median of each row over five repetitions and holds each ratio to its goal', () => {
    const rows = [
      floodRow('generator.echolot', [90, 500, 100, 95, 1]), // median 95
      floodRow('generator.c-mmsg', [100, 100, 1, 900, 100]), // median 100
      floodRow('generator.echolot.1472', [120, 120, 120, 120, 120], 1472),
      floodRow('generator.c-mmsg.1472', [100, 100, 100, 100, 100], 1472),
      pingPongRow('ping-pong.echolot', [50, 51, 52, 53, 54]), // median 52
      pingPongRow('ping-pong.c', [50, 50, 50, 50, 50]),
    ];
    const summary = summarize(rows);
    const ratio = (name: string) => summary.ratios.find((r) => r.name === name);
    expect(ratio('echolot generator / C generator')).to.include({ value: 0.95, met: false });
    expect(ratio('echolot generator / C generator, 1472 B')).to.include({ value: 1.2, met: true });
    expect(ratio('ping-pong p50 echolot / C')).to.include({ value: 1.04, met: true });
    // A ratio over a row that did not run has no value, and so neither meets nor misses its goal.
    expect(ratio('reference server / C mmsg server')).to.include({ value: null, met: null });
    expect(ratio('echolot generator / naive generator')).to.not.have.property('goal');

    const text = renderSummary(rows, summary, 5, [0, 0, 0]).join('\n');
    expect(text).to.include('ratios of medians of 5 interleaved repetitions');
    expect(text).to.match(/echolot generator \/ C generator {2,}0\.950 {2}goal >= 1\.00: NOT MET/);
    expect(text).to.match(/echolot generator \/ C generator, 1472 B +1\.200 {2}goal >= 1\.00: met /);
    expect(text).to.match(/ping-pong p50 echolot \/ C +1\.040 {2}goal <= 1\.05: met /);
    expect(text).to.match(/reference server \/ C mmsg server +n\/a {2}goal >= 1\.00: n\/a /);

    // Payload bytes/s next to echoes/s: 120 echoes/s of 1472 bytes.
    const table = renderTable(rows, summary).join('\n');
    expect(table).to.match(/generator\.echolot\.1472 +0\.1k +echoes\/s .* 5 +0\.2 MB\/s/);
  });

  it("takes a rate-precision row's send lag p99 as its figure, and gives the ratio of echolot's to C's", () => {
    const rateRow = (id: string, p99s: number[]): Row => ({
      id,
      group: 'rate',
      label: id,
      unit: 'us lag p99',
      samples: p99s.map((lagP99Us) => ({ lagP50Us: 0, lagP99Us, lagP999Us: lagP99Us * 10 })),
    });
    const rows = [rateRow('rate.echolot', [30, 40, 35]), rateRow('rate.c', [20, 25, 300])];
    const summary = summarize(rows);
    expect(summary.medianOf('rate.echolot')).to.equal(35);
    const ratio = summary.ratios.find((r) => r.name === 'rate-mode send lag p99 echolot / C');
    expect(ratio).to.include({ value: 1.4 });
    expect(ratio).to.not.have.property('goal');
    expect(renderTable(rows, summary).join('\n')).to.match(
      /rate\.echolot +35\.0 +us lag p99 +30\.0 +40\.0 +3/,
    );
  });

  it('gives 65507-byte rows window 1 (one 64 KiB skb each) and the many-flows row 1000 flows x 1', () => {
    const base: FloodShape = { size: 64, flows: 4, window: 16, ms: 4000, warmupMs: 500 };
    const timing = { ms: 100, warmupMs: 20 };
    expect(largeShape(base, 1472, timing)).to.deep.equal({ size: 1472, flows: 4, window: 16, ...timing });
    expect(largeShape(base, 65507, timing)).to.deep.equal({ size: 65507, flows: 4, window: 1, ...timing });
    expect(manyFlowsShape(base, timing)).to.deep.equal({ size: 64, flows: 1000, window: 1, ...timing });
  });

  it("reads sockperf's p50, p99 and message rate, and says so when they are missing", () => {
    const pp = [
      'sockperf: \u001b[2;35m====> avg-rtt=106.350 (std-dev=488.001)\u001b[0m',
      'sockperf: ---> percentile 99.000 = 3253.886',
      'sockperf: ---> percentile 90.000 =   60.071',
      'sockperf: ---> percentile 50.000 =   52.217',
      'sockperf: ---> percentile 25.000 =   49.642',
    ].join('\n');
    expect(parsePingPong(pp)).to.deep.equal({ p50Us: 52.217, p99Us: 3253.886 });
    const tp = [
      'sockperf: Total of 161698 messages sent in 1.004 sec',
      'sockperf: Summary: Message Rate is 161057 [msg/sec]',
      'sockperf: Summary: BandWidth is 9.830 MBps (78.641 Mbps)',
    ].join('\n');
    expect(parseThroughput(tp)).to.deep.equal({ rate: 161057 });
    // The message is one line, with sockperf's last lines and without its terminal escapes.
    expect(() => parsePingPong('sockperf: \u001b[2;35mERROR\u001b[0m\nbind failed\u0007')).to.throw(
      BrokenSetup,
      /^sockperf pp printed no p50: sockperf: ERROR \| bind failed\\x07$/,
    );
    expect(() => parseThroughput('')).to.throw(BrokenSetup, 'sockperf tp printed no message rate');
  });
});
