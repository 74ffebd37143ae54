/**
 * A check that did not start: the target did not answer the preflight (exit 69). Its summary still
 * goes into the reports, so that CI has something to show: one failing "preflight" test whose
 * message is the diagnosis, every selected case NOT-RUN, and `run.notStarted` saying why.
 */
import { checkRunIdentity } from './run-info.js';
import { resolveCheckOptions, type CheckOptions } from '../conformance/options.js';
import { ERROR_CATALOGUE } from '../errors.js';
import { newRunId } from '../core/run-id.js';
import { staticCapabilities } from '../net/capabilities.js';
import { notStartedSummary, type Summary } from '../results/summary.js';
import { unreachableTarget } from '../target/acquire.js';

import { CATALOGUE } from '../../suites/conformance/catalogue.js';
import { IO_PATH } from './run-check.js';
import { selectCases } from './selection.js';

/**
 * The summary of a check that `err` kept from starting, when `err` is a target that did not answer
 * the preflight (`unreachableError`); undefined for any other error. `startedAt`: when the check began.
 */
export function notStartedCheck(input: CheckOptions, err: unknown, startedAt: Date): Summary | undefined {
  const unreachable = unreachableTarget(err);
  if (unreachable === undefined || !(err instanceof Error)) return undefined;
  const options = resolveCheckOptions(input);
  const selected = selectCases(CATALOGUE, options.only, options.exclude);
  const { target } = unreachable;
  const finishedAt = new Date();
  return notStartedSummary(
    {
      ...checkRunIdentity(newRunId(startedAt), target, options, selected, staticCapabilities().privileged),
      ioPath: IO_PATH,
      preflight: { rttMs: 0, note: err.message },
      notStarted: { stage: 'preflight', diagnosis: err.message },
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      durationMs: finishedAt.getTime() - startedAt.getTime(),
    },
    selected,
    ERROR_CATALOGUE.ERR_ECHOLOT_UNREACHABLE,
  );
}
