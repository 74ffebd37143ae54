/**
 * The conformance catalogue: every case, section by section, in the order they run. A case is one
 * object in one file (./<section>/<id>-<name>.ts); its section's index lists it here.
 */
import type { CatalogueSection, ConformanceCase } from '../../harness/conformance/case.js';
import type { CaseDefinition } from '../../harness/results/case-definition.js';
import { SECTION_1 } from './1-basic/index.js';
import { SECTION_2 } from './2-payload/index.js';
import { SECTION_3 } from './3-sizes/index.js';
import { SECTION_4 } from './4-addressing/index.js';
import { SECTION_5 } from './5-cardinality/index.js';
import { SECTION_6 } from './6-concurrency/index.js';
import { SECTION_7 } from './7-abuse/index.js';
import { SECTION_8 } from './8-dual-stack/index.js';
import { SECTION_9 } from './9-fragmentation/index.js';
import { SECTION_10 } from './10-robustness/index.js';

/** The sections of the catalogue, in order. */
export const SECTIONS: readonly CatalogueSection[] = Object.freeze([
  SECTION_1,
  SECTION_2,
  SECTION_3,
  SECTION_4,
  SECTION_5,
  SECTION_6,
  SECTION_7,
  SECTION_8,
  SECTION_9,
  SECTION_10,
]);

/** Every case, in catalogue order. */
export const CASES: readonly ConformanceCase[] = Object.freeze(SECTIONS.flatMap((s) => s.cases));

/** Every case's catalogue entry (what --list prints and reports show), in catalogue order. */
export const CATALOGUE: readonly CaseDefinition[] = Object.freeze(
  SECTIONS.flatMap((s) =>
    s.cases.map((c): CaseDefinition => ({
      id: c.id,
      title: c.title,
      klass: c.klass,
      ...(c.capability === undefined ? {} : { capability: c.capability }),
      requirement: c.requirement,
      source: c.source,
      section: s.title,
    })),
  ),
);

const BY_ID = new Map(CASES.map((c) => [c.id, c]));

/** The case with this ID; throws for an unknown ID (a programming error). */
export function caseById(id: string): ConformanceCase {
  const found = BY_ID.get(id);
  if (!found) throw new Error(`unknown case ID ${id}`);
  return found;
}
