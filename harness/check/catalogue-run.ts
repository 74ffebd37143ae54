import { setMaxListeners } from 'node:events';
/**
 * One run of the selected cases against an acquired target: the run's ledger, a context and a wire
 * per case, mocha to run them, grading with the ledger's breaches, amendments for breaches that
 * show after their case, and the linger at the end that keeps every socket listening for them.
 */
import type { CatalogueSection } from '../conformance/case.js';
import type { CaseContext, CaseTiming } from '../conformance/context.js';
import { caseTiming } from '../conformance/timing.js';
import type { PreflightTiming } from '../target/preflight.js';
import { CaseWire } from '../conformance/exchange.js';
import { Ledger, type Breach, type LedgerCounts } from '../conformance/ledger.js';
import type { ResolvedCheckOptions } from '../conformance/options.js';
import type { Capabilities } from '../net/capabilities.js';
import type { CaseResult } from '../results/case-result.js';
import { runMocha } from '../runner/mocha-run.js';
import type { EmbeddedServer, Target } from '../target/acquire.js';
import { registerCases } from './register.js';
import { gradeCase, notRun, refuseCase, runCase, type CaseRecord } from './run-case.js';
import { HEALTH_CASE, Health, type TargetDown } from '../conformance/health.js';
import { REPEAT_CASE, repeatDuplicate } from '../conformance/repeat.js';
import { interruptReason } from '../core/exit-signal.js';

/** What the run needs. */
export interface CatalogueRunInput {
  readonly runId: string;
  readonly sections: readonly CatalogueSection[];
  readonly selected: ReadonlySet<string>;
  readonly target: Target;
  readonly server?: EmbeddedServer;
  readonly options: ResolvedCheckOptions;
  readonly capabilities: Capabilities;
  /** The target's round trip and service time, from the preflight (absent: not measured). */
  readonly pace?: PreflightTiming;
  /** Set when the target answered none of the preflight's echoes but that is a finding: the case it FAILs. */
  readonly silent?: SilentTarget;
  /** Called as each case starts (before it is graded, refused or marked NOT-RUN). */
  readonly onCaseStart?: (c: { readonly id: string; readonly title: string }) => void;
  /** Called as each case is graded. */
  readonly onCase?: (result: CaseResult) => void;
  /** Called when a breach that showed after a case changes its result. */
  readonly onAmend?: (result: CaseResult, before: CaseResult) => void;
  /** Interrupts the run: the case under way and every later one are NOT-RUN, and the run ends at once. */
  readonly interrupt?: AbortSignal;
}

/** A target that never answered, and the case whose finding that is (the rest do not run). */
export interface SilentTarget {
  readonly caseId: string;
  readonly diagnosis: string;
  readonly evidence: Readonly<Record<string, unknown>>;
}

/** What the run produced. */
export interface CatalogueRun {
  /** Every graded case, amendments included, in the order they ran. */
  readonly results: readonly CaseResult[];
  readonly mochawesome: unknown;
  /** The ledger's counts over the whole run (linger included). */
  readonly ledger: LedgerCounts;
  /** Why the run was interrupted (the abort's reason, e.g. "SIGINT"), when it was. */
  readonly interrupted?: string;
}

/** Per-test backstop; every case's own waits are bounded well below it. */
const CASE_TIMEOUT_MS = 180_000;

/** Linger after the last case (late copies and strays still count): at least this, or 4 round trips. */
const MIN_LINGER_MS = 2000;

/** Longest wait for a slow target's backlog before a case starts, ms. */
const MAX_DRAIN_MS = 30_000;

/** A round trip above which the target counts as far: replies may still be on their way between cases, ms. */
const SLOW_RTT_MS = 50;

/** Longest linger, whatever the round trip. */
const MAX_LINGER_MS = 10_000;

/** Runs the selected cases and returns their graded results. */
export async function runCatalogue(input: CatalogueRunInput): Promise<CatalogueRun> {
  const { options } = input;
  const ledger = new Ledger();
  const records = new Map<string, CaseRecord>();
  const results = new Map<string, CaseResult>();
  const timing: CaseTiming = caseTiming(options, input.pace, () => ledger.lossSeen());
  // Aborted when the target is down: every wait of the run ends (hundreds of them at once, say in 4.5).
  const stop = new AbortController();
  setMaxListeners(0, stop.signal);
  // An interruption ends every wait too; the cases it cuts short are NOT-RUN, not judged on half an exchange.
  const interrupt = input.interrupt;
  const interrupted = (): string | undefined =>
    interrupt?.aborted === true ? interruptReason(interrupt) : undefined;
  const onInterrupt = (): void => stop.abort();
  if (interrupt?.aborted) stop.abort();
  else interrupt?.addEventListener('abort', onInterrupt, { once: true });
  const grade = (id: string, record: CaseRecord): CaseResult =>
    gradeCase(record, ledger.breaches(id), options.strict, pathDuplicates.get(id));
  const regrade = (id: string): void => {
    const record = records.get(id);
    const before = results.get(id);
    if (!record || !before) return;
    const after = grade(id, record);
    results.set(id, after);
    // Only a changed verdict is news; a further breach of the same kind only updates the count.
    if (after.verdict !== before.verdict) input.onAmend?.(after, before);
  };
  // Duplicates: the server's once a burst of fresh requests drew copies again; per case, the path's when not.
  let serverDuplicates = false;
  const pathDuplicates = new Map<string, string>();
  const duplicatesToCheck = new Set<string>();
  ledger.onBreach((b: Breach) => {
    if (b.clause === 'once' && !serverDuplicates && !pathDuplicates.has(b.caseId))
      duplicatesToCheck.add(b.caseId);
    if (b.afterCase) regrade(b.caseId);
  });
  /** Repeats the duplicates of the cases that saw one, with fresh requests, and regrades them. */
  const checkDuplicates = async (): Promise<void> => {
    for (const id of [...duplicatesToCheck]) {
      duplicatesToCheck.delete(id);
      if (serverDuplicates || stop.signal.aborted || !records.has(id)) continue;
      const first = ledger.breaches(id).list.find((b) => b.clause === 'once');
      if (!first) continue;
      const r = await repeatDuplicate(ledger, endpoint, first, timing.timeoutMs);
      if (r.reproduced) serverDuplicates = true;
      else {
        pathDuplicates.set(
          id,
          `a burst of ${r.sent} fresh requests of that size from one socket drew ${r.extraCopies === 0 ? 'no extra copy' : `${r.extraCopies} extra ${r.extraCopies === 1 ? 'copy' : 'copies'}`} in ${r.windowMs} ms`,
        );
        regrade(id);
      }
    }
  };
  const context = (caseId: string, onTimeout: () => void): CaseContext => ({
    runId: input.runId,
    target: input.target,
    ...(input.server ? { server: input.server } : {}),
    options,
    capabilities: input.capabilities,
    wire: new CaseWire(
      ledger,
      caseId,
      { address: input.target.address, port: input.target.port, family: input.target.family },
      stop.signal,
      onTimeout,
    ),
    timing,
  });
  const endpoint = { address: input.target.address, port: input.target.port, family: input.target.family };
  const health = new Health(ledger, endpoint);
  if (input.silent)
    health.declareDown({
      caseId: input.silent.caseId,
      request: "the preflight's echoes",
      diagnosis: input.silent.diagnosis,
    });
  // A timeout inside a case asks whether the target is still there; when it is not, every wait ends.
  const watch = (): void => {
    void health.check(timing.timeoutMs).then((down) => {
      if (down) stop.abort();
    });
  };
  /** Marks the case that killed the target: FAIL with the diagnosis (amending it when it already ran). */
  const blame = (down: TargetDown, current: string): void => {
    const killer = records.get(down.caseId);
    if (!killer || down.caseId === current) return;
    records.set(down.caseId, { ...killer, stoppedTarget: down.diagnosis });
    regrade(down.caseId);
  };
  /**
   * A target that serves one request at a time may still be working through an earlier case's
   * requests: the next case starts once they are answered or nothing has come for a while.
   */
  const drain = async (): Promise<void> => {
    if (timing.serviceMs === 0 && timing.rttMs < SLOW_RTT_MS) return;
    const quietMs = Math.max(200, 2 * timing.serviceMs, 2 * timing.rttMs);
    const deadline = Date.now() + MAX_DRAIN_MS;
    while (Date.now() < deadline && !stop.signal.aborted) {
      if (!ledger.hasOutstanding(MAX_DRAIN_MS)) return;
      if (health.quietForMs() >= quietMs) return;
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  let lastSection = '';
  // Cases that did not run here (a flood of a target the run does not own): nothing of theirs to judge at the end.
  const refused = new Set<string>();
  const mocha = await runMocha({
    register: (root) =>
      registerCases(root, input.sections, input.selected, async (c, section) => {
        const stoppedBy = interrupted();
        if (stoppedBy !== undefined) {
          const result = notRun(c, section, `the run was interrupted by ${stoppedBy}`);
          results.set(c.id, result);
          input.onCase?.(result);
          return { result };
        }
        input.onCaseStart?.({ id: c.id, title: c.title });
        const refusal = refuseCase(c, section, input.target, options);
        if (refusal) {
          refused.add(c.id);
          records.set(c.id, refusal);
          const result = grade(c.id, refusal);
          results.set(c.id, result);
          input.onCase?.(result);
          return { result };
        }
        // Between sections, a quiet target is asked whether it is still there.
        if (section !== lastSection && lastSection !== '' && !health.status())
          await health.check(timing.timeoutMs);
        lastSection = section;
        const before = health.status();
        if (before && input.silent?.caseId === c.id) {
          // The silence is this case's finding: it FAILs with what the preflight found, without sending.
          const record: CaseRecord = {
            case: c,
            section,
            outcome: { status: 'violated', message: input.silent.diagnosis, evidence: input.silent.evidence },
            startedAt: new Date().toISOString(),
            durationMs: 0,
          };
          records.set(c.id, record);
          const result = grade(c.id, record);
          results.set(c.id, result);
          input.onCase?.(result);
          return { result };
        }
        if (before) {
          const result = notRun(
            c,
            section,
            input.silent
              ? `${before.diagnosis} (case ${before.caseId})`
              : `the target is down since case ${before.caseId} (${before.diagnosis})`,
          );
          results.set(c.id, result);
          input.onCase?.(result);
          return { result };
        }
        await drain();
        let record = await runCase(c, section, context(c.id, watch));
        ledger.endCase(c.id);
        const cutShort = interrupted();
        if (cutShort !== undefined) {
          const result = notRun(c, section, `the run was interrupted by ${cutShort} while this case ran`);
          results.set(c.id, result);
          input.onCase?.(result);
          return { result };
        }
        records.set(c.id, record);
        await checkDuplicates();
        const unanswered = ledger
          .requests()
          .some((r) => r.caseId === c.id && r.expect === 'reply' && r.copies === 0);
        const down =
          c.disturbs !== undefined || unanswered || stop.signal.aborted
            ? await health.check(timing.timeoutMs, c.disturbs === 'silence' ? c.id : undefined)
            : undefined;
        let result: CaseResult;
        if (down && down.caseId !== c.id && records.has(down.caseId)) {
          // Nothing it sent was answered: the target was gone since another case's datagram, which is named.
          records.set(c.id, record);
          blame(down, c.id);
          result = notRun(c, section, `the target went down after case ${down.caseId} (${down.diagnosis})`);
        } else {
          if (down) record = { ...record, stoppedTarget: down.diagnosis };
          records.set(c.id, record);
          result = grade(c.id, record);
        }
        if (down) stop.abort();
        results.set(c.id, result);
        input.onCase?.(result);
        return { result, ...(record.thrown === undefined ? {} : { thrown: record.thrown }) };
      }),
    timeoutMs: CASE_TIMEOUT_MS,
  });
  interrupt?.removeEventListener('abort', onInterrupt);
  const stoppedBy = interrupted();
  // Sockets stay open a while after the last case: late copies and strays still count (not after an interruption).
  const lingerMs =
    health.status() || stoppedBy !== undefined
      ? 0
      : Math.min(MAX_LINGER_MS, Math.max(MIN_LINGER_MS, 4 * timing.rttMs));
  await new Promise((r) => setTimeout(r, lingerMs));
  await checkDuplicates();
  await ledger.finish(0);
  // Cases about the whole run judge it now that every datagram is in.
  const requests = ledger.requests().filter((r) => r.caseId !== HEALTH_CASE && r.caseId !== REPEAT_CASE);
  for (const [id, record] of records) {
    if (refused.has(id)) continue;
    const outcome = health.status()
      ? undefined
      : record.case.atRunEnd?.({ requests, serverDuplicates }, record.outcome);
    if (!outcome) continue;
    records.set(id, { ...record, outcome });
    regrade(id);
  }
  return {
    results: [...results.values()],
    mochawesome: mocha.report,
    ledger: ledger.totals(),
    ...(stoppedBy === undefined ? {} : { interrupted: stoppedBy }),
  };
}
