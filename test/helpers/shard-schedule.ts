import { resolveLoadOptions } from '../../harness/load/options.js';
import { shareSchedule, type ScheduleShare } from '../../harness/load/sending.js';
import type { ShardRunPlan } from '../../harness/load/shard.js';

/** The first `count` intended send times (ns) of one thread of a shard, from the schedule the engine's sender uses. */
export function sendProbesScheduleForTest(
  plan: ShardRunPlan,
  share: ScheduleShare,
  t0: number,
  count: number,
): number[] {
  const schedule = shareSchedule(resolveLoadOptions(plan.options), share, t0, plan.internals);
  return Array.from({ length: count }, () => schedule());
}
