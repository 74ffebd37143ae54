/** What every summary of a check says about the run: who ran it, against what, with which options. */
import { platform } from 'node:os';
import type { ResolvedCheckOptions } from '../conformance/options.js';
import type { CaseDefinition } from '../results/case-definition.js';
import type { RunInfo } from '../results/run-info.js';
import type { Target } from '../target/acquire.js';
import { ECHOLOT_VERSION } from '../version.js';

/** The parts of a check's RunInfo that do not depend on how far it got (run, not-started alike). */
export function checkRunIdentity(
  runId: string,
  target: Target,
  options: ResolvedCheckOptions,
  selected: readonly Pick<CaseDefinition, 'id'>[],
  privileged: boolean,
): Pick<RunInfo, 'runId' | 'tool' | 'target' | 'options' | 'platform'> {
  return {
    runId,
    tool: { name: 'echolot', version: ECHOLOT_VERSION },
    target: {
      input: target.input,
      host: target.host,
      address: target.address,
      port: target.port,
      family: target.family,
      embedded: target.embedded,
    },
    options: {
      strict: options.strict,
      selected: selected.map((c) => c.id),
      seed: options.seed,
      timeoutMs: options.timeoutMs,
      retries: options.retries,
      ...(options.ownTarget ? { ownTarget: true } : {}),
    },
    platform: { os: platform(), node: process.version, privileged },
  };
}
