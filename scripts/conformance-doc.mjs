// Regenerates the tables of docs/conformance.md from the catalogue and the fixture list (run after `npm run build`).
import { readFileSync, writeFileSync } from 'node:fs';

const { CASES, CATALOGUE } = await import('../dist/suites/conformance/catalogue.js');
const { FAULTY_SERVERS } = await import('../dist/test/fixtures/servers/index.js');

const cell = (s) => String(s).replace(/\|/g, '\\|').replace(/\n/g, ' ');
const provenBy = new Map(CASES.map((c) => [c.id, c.provenBy.map((name) => `\`${name}\``).join(', ')]));

const cases = [
  '| ID | class | requirement | source | proven by fixture |',
  '|---|---|---|---|---|',
  ...CATALOGUE.map(
    (c) =>
      `| ${c.id} | ${c.klass}${c.capability ? ', capability' : ''} | ${cell(c.requirement)}${
        c.capability ? ` *Needs: ${cell(c.capability)}.*` : ''
      } | ${cell(c.source)} | ${provenBy.get(c.id) || '**none**'} |`,
  ),
].join('\n');

const fixtures = [
  '| fixture | defect | FAIL | NON-STRICT | finding (INFO) | checked with |',
  '|---|---|---|---|---|---|',
  ...FAULTY_SERVERS.map(
    (f) =>
      `| \`${f.name}\` | ${cell(f.defect)} | ${f.fails.join(', ') || '-'} | ${f.nonStrict.join(', ') || '-'} | ${
        Object.keys(f.findings ?? {}).join(', ') || '-'
      } | ${
        [f.checkAddress ? `address ${f.checkAddress}` : '', (f.checkArgs ?? []).join(' ')]
          .filter(Boolean)
          .join('; ') || 'the whole catalogue'
      }${f.unavailable ? ' (needs root)' : ''} |`,
  ),
].join('\n');

const path = new URL('../docs/conformance.md', import.meta.url);
const doc = readFileSync(path, 'utf8');
const replace = (text, name, table) =>
  text.replace(new RegExp(`(<!-- ${name}:start -->)[\\s\\S]*?(<!-- ${name}:end -->)`), `$1\n${table}\n$2`);
writeFileSync(path, replace(replace(doc, 'cases', cases), 'fixtures', fixtures));
