import type { CaseDefinition } from '../results/case-definition.js';
import { HarnessError } from '../errors.js';

const PATTERN = /^[0-9]+(\.[0-9]+)?$|^[0-9*]+(\.[0-9*]+)?$/;

/** True when a case ID matches a selection pattern: an exact ID (`3.1`), a section (`3`), or a glob (`3.*`, `*`). */
export function matchesPattern(id: string, pattern: string): boolean {
  if (!pattern.includes('*'))
    return id === pattern || (!pattern.includes('.') && id.startsWith(`${pattern}.`));
  const re = new RegExp(`^${pattern.replace(/\./g, '\\.').replace(/\*/g, '[0-9.]*')}$`);
  return re.test(id);
}

/** Checks selection patterns; throws one usage error listing every bad one. */
export function validatePatterns(option: string, patterns: readonly string[]): void {
  const bad = patterns.filter((p) => !PATTERN.test(p));
  if (bad.length > 0) {
    throw new HarnessError(
      'ERR_ECHOLOT_USAGE',
      `${option} ${bad.join(',')}: must be case IDs or globs such as 1.1, 3, 3.*`,
    );
  }
}

/** The cases selected by --only (all when empty) minus --exclude; an empty result is a usage error (exit 64). */
export function selectCases(
  catalogue: readonly CaseDefinition[],
  only: readonly string[],
  exclude: readonly string[],
): CaseDefinition[] {
  validatePatterns('--only', only);
  validatePatterns('--exclude', exclude);
  const selected = catalogue.filter(
    (c) =>
      (only.length === 0 || only.some((p) => matchesPattern(c.id, p))) &&
      !exclude.some((p) => matchesPattern(c.id, p)),
  );
  if (selected.length === 0) {
    const what = [
      only.length ? `--only ${only.join(',')}` : '',
      exclude.length ? `--exclude ${exclude.join(',')}` : '',
    ]
      .filter(Boolean)
      .join(' ');
    throw new HarnessError(
      'ERR_ECHOLOT_EMPTY_SELECTION',
      `${what}: selects no case (see 'echolot check --list' for the case IDs)`,
    );
  }
  return selected;
}
