import type { GateGroup } from '../../harness/load/suite.js';

/** Gates of the closed-loop modes (ping-pong and flood). */
export const CLOSED_LOOP_GATES: GateGroup = {
  title: 'load: closed loop',
  suite: 'load/2-closed-loop.ts',
  gates: [
    {
      title: 'answers one outstanding probe per flow within 5 ms at the median (ping-pong)',
      options: { mode: 'ping-pong', durationMs: 1000, flows: 2, drainMs: 300 },
      thresholds: ['p50<5ms', 'loss<1%', 'duplicates==0'],
    },
    {
      title: 'echoes at least 2000/s with a window of 16 per flow (flood), nothing corrupted',
      options: { mode: 'flood', durationMs: 1000, flows: 2, window: 16, drainMs: 300 },
      thresholds: ['rate>=2000', 'corrupted==0', 'truncated==0', 'duplicates==0'],
    },
  ],
};
