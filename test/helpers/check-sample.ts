/** Pieces of synthetic check results shared by the report, CTRF, JUnit and escaping tests. */
import type { CaseResult } from '../../harness/results/case-result.js';
import type { RunInfo } from '../../harness/results/run-info.js';
import type { Verdict } from '../../harness/results/verdict.js';
import { CATALOGUE } from '../../suites/conformance/catalogue.js';

/** The header of a 1.5 s check of 127.0.0.1:9007 over node:dgram; `extra` replaces what a test is about. */
export const sampleRun = (extra: Partial<RunInfo> = {}): RunInfo => ({
  runId: '2026-01-01T00-00-00Z-abcdef',
  tool: { name: 'echolot', version: '0' },
  target: {
    input: '127.0.0.1:9007',
    host: '127.0.0.1',
    address: '127.0.0.1',
    port: 9007,
    family: 'IPv4',
    embedded: false,
  },
  options: { strict: false, selected: [], timeoutMs: 1000, retries: 2 },
  platform: { os: 'linux', node: 'v20', privileged: true },
  ioPath: 'node:dgram',
  preflight: { rttMs: 0 },
  startedAt: '2026-01-01T00:00:00.000Z',
  finishedAt: '2026-01-01T00:00:01.500Z',
  durationMs: 1500,
  ...extra,
});

/**
 * The result of catalogue case `id` with this verdict, message and evidence, one attempt (two for
 * FLAKY); `extra` replaces the timing fields.
 */
export const sampleResult = (
  id: string,
  verdict: Verdict,
  message: string,
  evidence: CaseResult['evidence'] = {},
  extra: Partial<Pick<CaseResult, 'attempts' | 'durationMs' | 'startedAt'>> = {},
): CaseResult => {
  const def = CATALOGUE.find((c) => c.id === id);
  if (!def) throw new Error(`no case ${id} in the catalogue`);
  return {
    id,
    title: def.title,
    klass: def.klass,
    verdict,
    message,
    requirement: def.requirement,
    source: def.source,
    section: def.section,
    evidence,
    attempts: verdict === 'FLAKY' ? 2 : 1,
    durationMs: 12,
    startedAt: '2026-01-01T00:00:00.000Z',
    ...extra,
  };
};
