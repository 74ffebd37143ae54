/** echolot's public API: run the conformance catalogue from code, and the types of its results. */
export { runCheck, IO_PATH, type CheckRun, type CheckHooks } from './runner/run-check.js';
export { resolveCheckOptions, type CheckOptions, type ResolvedCheckOptions } from './spec/check-options.js';
export { parseTarget, resolveTarget, type TargetInput, type ResolvedTarget } from './spec/target.js';
export { CATALOGUE, caseById, type CaseDefinition } from './results/catalogue.js';
export type { CaseResult, Evidence } from './results/case-result.js';
export { decideExitCode, summarize, type Summary, type RunInfo } from './results/summary.js';
export { grade, VERDICTS, type Verdict, type CaseClass, type CaseStatus } from './results/verdict.js';
export { comparePayloads, type PayloadComparison } from './results/evidence.js';
export { renderSummaryJson } from './reporters/summary-json.js';
export { HarnessError, ERROR_CATALOGUE, type ErrorCode } from './errors.js';
export { ECHOLOT_VERSION } from './version.js';
export { renderJunit } from './reporters/junit.js';
export { decideExit, classify, type CaseExpectation, type ExitFlags } from './results/exit-decision.js';
export {
  parseExpectations,
  loadExpectations,
  updateExpectations,
  renderExpectations,
  type Expectations,
  type ExpectationEntry,
} from './results/expectations.js';
export { probeCapabilities, type Capabilities } from './runner/capabilities.js';
