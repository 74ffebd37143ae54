import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { CASES, CATALOGUE } from '../../suites/conformance/catalogue.js';
import type { FaultyServer } from '../fixtures/fixture-server.js';
import { staticCapabilities } from '../../harness/net/capabilities.js';

const caps = staticCapabilities();
import { FAULTY_SERVERS } from '../fixtures/servers/index.js';

const read = (path: string): string => readFileSync(new URL(`../../../${path}`, import.meta.url), 'utf8');

/** The cases a fixture draws a verdict or a finding in. */
const catches = (f: FaultyServer): string[] => [...f.fails, ...f.nonStrict, ...Object.keys(f.findings ?? {})];

describe('the catalogue, its fixtures and its documentation', () => {
  it('names for every case the fixtures that prove it, and each of them draws that case', () => {
    const byName = new Map(FAULTY_SERVERS.map((f) => [f.name, f]));
    for (const c of CASES) {
      expect(c.provenBy.length, `${c.id} provenBy`).to.be.greaterThan(0);
      for (const name of c.provenBy) {
        const f = byName.get(name);
        expect(f, `${c.id}: fixture ${name}`).to.not.equal(undefined);
        // Without root a fixture draws only what this host allows (no source ports below 1024, no test hosts).
        if (f && caps.privileged && caps.netns) {
          expect(catches(f), `${c.id}: what ${name} draws`).to.include(c.id);
        }
      }
    }
  });

  it('lists only known case IDs in the fixtures', () => {
    const known = new Set(CATALOGUE.map((c) => c.id));
    const unknown = FAULTY_SERVERS.flatMap((f) => catches(f).filter((id) => !known.has(id)));
    expect(unknown).to.deep.equal([]);
  });

  it('documents every case and every fixture in docs/conformance.md', () => {
    const doc = read('docs/conformance.md');
    for (const c of CATALOGUE) expect(doc, `case ${c.id}`).to.include(`| ${c.id} | ${c.klass}`);
    for (const f of FAULTY_SERVERS) expect(doc, `fixture ${f.name}`).to.include(`| \`${f.name}\` |`);
  });

  it('names in docs/conformance.md every case that floods (the ones --i-own-the-target lets run)', () => {
    const doc = read('docs/conformance.md');
    const section = doc.slice(
      doc.indexOf('## Floods: only of a target you own'),
      doc.indexOf('## Faulty fixture servers'),
    );
    const floods = CASES.filter((c) => c.disturbs === 'flood').map((c) => c.id);
    const named = [...section.matchAll(/\b(\d+\.\d+)\s+\(/g)].map((m) => m[1]);
    expect(named).to.deep.equal(floods);
  });

  it('gives every case a requirement, a source and a section', () => {
    for (const c of CATALOGUE) {
      expect(c.requirement, c.id).to.match(/\S/);
      expect(c.source, c.id).to.match(/\S/);
      expect(c.section.startsWith(`${c.id.split('.')[0]} `), c.id).to.equal(true);
    }
  });
});
