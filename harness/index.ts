/** echolot's public API: run the conformance catalogue from code, and the types of its results. */
export { runCheck, IO_PATH, type CheckRun, type CheckHooks } from './check/run-check.js';
export { resolveCheckOptions, type CheckOptions, type ResolvedCheckOptions } from './conformance/options.js';
export { parseTarget, resolveTarget, type TargetInput, type ResolvedTarget } from './target/target.js';
export { CATALOGUE, CASES, SECTIONS, caseById } from '../suites/conformance/catalogue.js';
export type { CaseDefinition } from './results/case-definition.js';
export type { CaseContext } from './conformance/context.js';
export type { CaseOutcome, CatalogueSection, ConformanceCase } from './conformance/case.js';
export type { CaseResult, Evidence } from './results/case-result.js';
export { decideExitCode, summarize, type Summary, type RunInfo } from './results/summary.js';
export { grade, VERDICTS, type Verdict, type CaseClass, type CaseStatus } from './results/verdict.js';
export { comparePayloads, type PayloadComparison } from './results/evidence.js';
export { renderSummaryJson } from './reporters/summary-json.js';
export { HarnessError, ERROR_CATALOGUE, type ErrorCode, type Problem } from './errors.js';
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
export { probeCapabilities, type Capabilities } from './net/capabilities.js';
export { checkReport, notStartedReport } from './report/check.js';
export { notStartedCheck } from './check/not-started.js';
export { loadSuiteReport } from './report/load-suite.js';
export {
  prepareReportDir,
  writeReport,
  type Report,
  type ReportFile,
  type WrittenReport,
} from './report/write.js';
export {
  acquireTarget,
  unreachableTarget,
  type AcquiredTarget,
  type AcquireOptions,
  type Target,
  type UnreachableTarget,
} from './target/acquire.js';

// Load: one run, a rate search, the load gates of suites/load; each returns its result and writes nothing.
export { runLoad, resolveLoadOptions, LOAD_DEFAULTS } from './load/run-load.js';
export type {
  Arrival,
  GeneratorHealth,
  IntervalStats,
  LatencySummary,
  LoadCounters,
  LoadMode,
  LoadOptions,
  LoadResult,
} from './load/types.js';
export {
  runSearch,
  resolveSearchSettings,
  SEARCH_DEFAULTS,
  type SearchLimit,
  type SearchResult,
  type SearchSettings,
  type SearchTrial,
} from './load/search.js';
export {
  parseThreshold,
  parseThresholds,
  evaluateThresholds,
  thresholdsPassed,
  type Threshold,
  type ThresholdOutcome,
} from './load/thresholds.js';
export { renderLoadJson, loadReport } from './reporters/load-json.js';
export { loadRunReport, type LoadPage } from './report/load.js';
// Distributed load: one shard's part of a run and its document; the merge of a run's shards.
export { runLoadDetailed, type DetailedLoad, type LoadRaw } from './load/run-load.js';
export {
  planShard,
  shardDocument,
  renderShardDocument,
  shardRunProblems,
  shardFlows,
  shardPhaseNs,
  shardSeed,
  HISTOGRAM_CONFIG,
  SHARD_FORMAT,
  SHARD_FORMAT_VERSION,
  type ShardDocument,
  type ShardSpec,
  type ShardHistogram,
  type ShardInterval,
  type HistogramConfig,
  type ShardRunPlan,
} from './load/shard.js';
export {
  mergeShards,
  readShardFiles,
  parseShardDocument,
  missingShards,
  type MergedRun,
  type MergeOptions,
  type ShardInput,
  type ShardRow,
  type ShardsSection,
} from './load/merge.js';
export { runLoadSuite, type LoadSuiteOptions, type LoadSuiteRun } from './runner/load-suite-run.js';

// The interop matrix: real servers, each checked in its own process (writes each target's check report).
export {
  loadMatrixConfig,
  parseMatrixConfig,
  type MatrixConfig,
  type MatrixCheckOptions,
  type MatrixTarget,
} from './matrix/config.js';
export {
  runMatrix,
  type MatrixCell,
  type MatrixColumn,
  type MatrixHooks,
  type MatrixResult,
  type MatrixRun,
} from './matrix/run-matrix.js';
export { matrixReport } from './report/matrix.js';

// The reference server (everything about it, policy and metrics included: 'echolot/reference-server').
export {
  startReferenceServer,
  resolveServeOptions,
  type ReferenceServer,
  type ServeOptions,
  type ResolvedServeOptions,
} from '../reference-server/index.js';
