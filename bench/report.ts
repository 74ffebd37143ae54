/** The JSON report of a run (reports/bench-<timestamp>.json): machine, settings, every sample, the ratios. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { join } from 'node:path';
import type { BenchConfig } from './config.js';
import type { Pinning } from './machine.js';
import type { Row } from './rows.js';
import type { Summary } from './summary.js';

/** What a run knows besides its rows, for the report. */
export interface RunInfo {
  readonly config: BenchConfig;
  readonly pin: Pinning;
  readonly startedAt: Date;
  readonly loadBefore: readonly number[];
  readonly loadAfter: readonly number[];
}

/** Writes the report into config.reportDir and returns its path. */
export function writeReport(run: RunInfo, rows: readonly Row[], summary: Summary): string {
  const { config, startedAt } = run;
  const report = {
    type: 'echolot-bench',
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      kernel: release(),
      node: process.version,
      loadavgBefore: run.loadBefore,
      loadavgAfter: run.loadAfter,
    },
    config,
    pinning: run.pin,
    rows: rows.map((r) => ({
      id: r.id,
      group: r.group,
      label: r.label,
      unit: r.unit,
      ...(r.skipped === undefined ? {} : { skipped: r.skipped }),
      ...(r.sameAs === undefined ? {} : { sameAs: r.sameAs }),
      ...(r.payloadBytes === undefined ? {} : { payloadBytes: r.payloadBytes }),
      median: r.skipped === undefined ? summary.medianOf(r.id) : null,
      ...(r.payloadBytes === undefined || r.skipped !== undefined
        ? {}
        : { medianBytesPerSecond: summary.medianOf(r.id) * r.payloadBytes }),
      samples: summary.samplesOf(r),
    })),
    ratios: summary.ratios,
    bottlenecks: summary.bottlenecks,
  };
  mkdirSync(config.reportDir, { recursive: true });
  const file = join(config.reportDir, `bench-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  return file;
}
