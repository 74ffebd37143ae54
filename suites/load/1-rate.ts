import type { GateGroup } from '../../harness/load/suite.js';

/** Gates of the open-loop rate mode. */
export const RATE_GATES: GateGroup = {
  title: 'load: open-loop rate',
  suite: 'load/1-rate.ts',
  gates: [
    {
      title: 'holds 2000 datagrams/s for 2 s without loss, corruption or duplicates',
      options: { mode: 'rate', rate: 2000, durationMs: 2000, warmupMs: 250, flows: 4, drainMs: 500 },
      thresholds: ['loss<0.1%', 'duplicates==0', 'corrupted==0', 'truncated==0', 'p50<10ms'],
    },
    {
      title: 'carries mixed sizes (64, 512, 1472 bytes) at 1000/s byte for byte',
      options: { mode: 'rate', rate: 1000, durationMs: 1000, sizes: [64, 512, 1472], flows: 2, drainMs: 500 },
      thresholds: ['loss<0.1%', 'corrupted==0', 'truncated==0', 'foreign==0'],
    },
  ],
};
