import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { CATALOGUE } from '../harness/results/catalogue.js';
import { FAULTY_SERVERS } from './fixtures/faulty-servers.js';

const read = (path: string): string => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

/** Cases proven on test hosts in network namespaces (test/testhost.test.ts) rather than by a local fixture. */
const TEST_HOST_PROOFS = new Set(['4.4']);

describe('the catalogue, its fixtures and its documentation', () => {
  it('proves every MUST and SHOULD case with a fixture that draws its verdict', () => {
    const proven = new Set(FAULTY_SERVERS.flatMap((f) => [...f.fails, ...f.nonStrict]));
    const unproven = CATALOGUE.filter(
      (c) => c.klass !== 'INFO' && !proven.has(c.id) && !TEST_HOST_PROOFS.has(c.id),
    );
    expect(unproven.map((c) => c.id)).to.deep.equal([]);
  });

  it('lists only known case IDs in the fixtures', () => {
    const known = new Set(CATALOGUE.map((c) => c.id));
    const unknown = FAULTY_SERVERS.flatMap((f) =>
      [...f.fails, ...f.nonStrict].filter((id) => !known.has(id)),
    );
    expect(unknown).to.deep.equal([]);
  });

  it('documents every case and every fixture in docs/conformance.md', () => {
    const doc = read('docs/conformance.md');
    for (const c of CATALOGUE) expect(doc, `case ${c.id}`).to.include(`| ${c.id} | ${c.klass}`);
    for (const f of FAULTY_SERVERS) expect(doc, `fixture ${f.name}`).to.include(`| \`${f.name}\` |`);
  });

  it('gives every case a requirement, a source and a section', () => {
    for (const c of CATALOGUE) {
      expect(c.requirement, c.id).to.match(/\S/);
      expect(c.source, c.id).to.match(/\S/);
      expect(c.section.startsWith(`${c.id.split('.')[0]} `), c.id).to.equal(true);
    }
  });
});
