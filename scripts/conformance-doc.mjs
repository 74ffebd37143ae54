// Regenerates the tables of docs/conformance.md from the catalogue and the fixture list (run after `npm run build`).
import { readFileSync, writeFileSync } from 'node:fs';

const { CATALOGUE } = await import('../dist/harness/results/catalogue.js');
const { FAULTY_SERVERS } = await import('../dist/test/fixtures/faulty-servers.js');

// Cases whose fixture needs a real network path: proven on test hosts in test/testhost.test.ts.
const TEST_HOST_PROOFS = {
  4.4: 'a wildcard-bound server on a two-address test host (`test/testhost.test.ts`)',
};

const cell = (s) => String(s).replace(/\|/g, '\\|').replace(/\n/g, ' ');
const provenBy = (id) =>
  [
    ...FAULTY_SERVERS.filter((f) => f.fails.includes(id) || f.nonStrict.includes(id)).map(
      (f) => `\`${f.name}\``,
    ),
    ...(TEST_HOST_PROOFS[id] ? [TEST_HOST_PROOFS[id]] : []),
  ].join(', ');

const cases = [
  '| ID | class | requirement | source | proven by fixture |',
  '|---|---|---|---|---|',
  ...CATALOGUE.map(
    (c) =>
      `| ${c.id} | ${c.klass}${c.capability ? ', capability' : ''} | ${cell(c.requirement)}${
        c.capability ? ` *Needs: ${cell(c.capability)}.*` : ''
      } | ${cell(c.source)} | ${c.klass === 'INFO' ? '(INFO: a finding, no verdict to prove)' : provenBy(c.id) || '**none**'} |`,
  ),
].join('\n');

const fixtures = [
  '| fixture | defect | FAIL | NON-STRICT | checked with |',
  '|---|---|---|---|---|',
  ...FAULTY_SERVERS.map(
    (f) =>
      `| \`${f.name}\` | ${cell(f.defect)} | ${f.fails.join(', ') || '-'} | ${f.nonStrict.join(', ') || '-'} | ${
        [f.checkAddress ? `address ${f.checkAddress}` : '', (f.checkArgs ?? []).join(' ')]
          .filter(Boolean)
          .join('; ') || 'the whole catalogue'
      } |`,
  ),
].join('\n');

const path = new URL('../docs/conformance.md', import.meta.url);
const doc = readFileSync(path, 'utf8');
const replace = (text, name, table) =>
  text.replace(new RegExp(`(<!-- ${name}:start -->)[\\s\\S]*?(<!-- ${name}:end -->)`), `$1\n${table}\n$2`);
writeFileSync(path, replace(replace(doc, 'cases', cases), 'fixtures', fixtures));
