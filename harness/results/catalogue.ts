import type { CaseClass } from './verdict.js';
import { SECTION_1 } from './cases/section-1.js';
import { SECTION_2 } from './cases/section-2.js';
import { SECTION_3 } from './cases/section-3.js';
import { SECTION_4 } from './cases/section-4.js';
import { SECTION_5 } from './cases/section-5.js';
import { SECTION_6 } from './cases/section-6.js';
import { SECTION_7 } from './cases/section-7.js';
import { SECTION_8 } from './cases/section-8.js';
import { SECTION_9 } from './cases/section-9.js';
import { SECTION_10 } from './cases/section-10.js';

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
  /** The catalogue section title (and the spec file that implements it). */
  readonly section: string;
}

/** Every implemented case, in catalogue order (one file per section in ./cases/). */
export const CATALOGUE: readonly CaseDefinition[] = Object.freeze([
  ...SECTION_1,
  ...SECTION_2,
  ...SECTION_3,
  ...SECTION_4,
  ...SECTION_5,
  ...SECTION_6,
  ...SECTION_7,
  ...SECTION_8,
  ...SECTION_9,
  ...SECTION_10,
]);

const BY_ID = new Map(CATALOGUE.map((c) => [c.id, c]));

/** The case with this ID; throws for an unknown ID (a programming error in a spec file). */
export function caseById(id: string): CaseDefinition {
  const found = BY_ID.get(id);
  if (!found) throw new Error(`unknown case ID ${id}`);
  return found;
}
