import type { CaseClass } from './verdict.js';

/** One case of the conformance catalogue: stable ID, class, requirement and its source. */
export interface CaseDefinition {
  /** Stable ID, `section.case` (used by --only, expectations files, JUnit). */
  readonly id: string;
  /** Short title, used as the mocha test title after the ID. */
  readonly title: string;
  readonly klass: CaseClass;
  /** Set when the case needs a capability (privilege, IPv6, a platform feature) and may be UNSUPPORTED. */
  readonly capability?: string;
  /** The requirement in one sentence. */
  readonly requirement: string;
  /** The RFC or advisory it comes from. */
  readonly source: string;
  /** The catalogue section title. */
  readonly section: string;
}
