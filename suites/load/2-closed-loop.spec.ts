import { loadGate } from '../../harness/load/suite.js';

describe('load: closed loop', () => {
  loadGate(
    'answers one outstanding probe per flow within 5 ms at the median (ping-pong)',
    { mode: 'ping-pong', durationMs: 1000, flows: 2, drainMs: 300 },
    ['p50<5ms', 'loss<1%', 'duplicates==0'],
  );

  loadGate(
    'echoes at least 2000/s with a window of 16 per flow (flood), nothing corrupted',
    { mode: 'flood', durationMs: 1000, flows: 2, window: 16, drainMs: 300 },
    ['rate>=2000', 'corrupted==0', 'truncated==0', 'duplicates==0'],
  );
});
