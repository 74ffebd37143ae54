import { expect } from 'chai';
import { signalExitCode } from '../../harness/core/exit-signal.js';
import { catchInterrupt } from '../../harness/cli/stop-signals.js';
import { ShareAccounting } from '../../harness/load/accounting.js';

describe('interrupting a run (signals)', () => {
  it('exits 128 + the signal number: 130 for SIGINT, 143 for SIGTERM', () => {
    expect(signalExitCode('SIGINT')).to.equal(130);
    expect(signalExitCode('SIGTERM')).to.equal(143);
  });

  it('aborts on the first SIGINT or SIGTERM with its name, and quits at once on the second', () => {
    const exits: number[] = [];
    const listeners = process.listenerCount('SIGINT');
    const interrupt = catchInterrupt((code) => exits.push(code));
    try {
      expect(interrupt.signal.aborted).to.equal(false);
      process.emit('SIGTERM', 'SIGTERM');
      expect(interrupt.signal.aborted).to.equal(true);
      expect(interrupt.signal.reason).to.equal('SIGTERM');
      expect(exits).to.deep.equal([]);
      process.emit('SIGINT', 'SIGINT');
      expect(exits).to.deep.equal([130]);
    } finally {
      interrupt.dispose();
    }
    expect(process.listenerCount('SIGINT')).to.equal(listeners);
  });
});

describe('cutting a load run short', () => {
  const options = { mode: 'rate', intervalMs: 100, durationMs: 1000, drainMs: 500 } as const;
  const startNs = 5e9;

  it('ends sending, the measurement and the series where it was cut', () => {
    const acc = new ShareAccounting(options);
    acc.measureFrom(startNs, 1000);
    expect(acc.series.count).to.equal(10);
    acc.cutAt(startNs + 350e6);
    expect(acc.cutMs).to.equal(350);
    expect(acc.sendEnd).to.equal(startNs + 350e6);
    expect(acc.measured(startNs + 349e6)).to.equal(true);
    expect(acc.measured(startNs + 351e6)).to.equal(false);
    expect(acc.series.count).to.equal(4);
  });

  it('measures nothing when cut in the warm-up or before the start, and changes nothing after the end', () => {
    const warm = new ShareAccounting(options);
    warm.measureFrom(startNs, 1000);
    warm.cutAt(startNs - 200e6);
    expect(warm.cutMs).to.equal(0);
    expect(warm.sendEnd).to.equal(startNs - 200e6);

    const early = new ShareAccounting(options);
    early.cutAt(1e9);
    early.measureFrom(startNs, 1000);
    expect(early.cutMs).to.equal(0);
    expect(early.sendEnd).to.equal(1e9);

    const late = new ShareAccounting(options);
    late.measureFrom(startNs, 1000);
    late.cutAt(startNs + 2000e6);
    expect(late.cutMs).to.equal(undefined);
    expect(late.sendEnd).to.equal(startNs + 1000e6);
    expect(late.series.count).to.equal(10);
  });
});
