import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseLoadArgs } from '../../harness/cli/load-command.js';
import { CLI } from '../helpers/cli.js';

const EXAMPLE = fileURLToPath(new URL('../../../examples/github-actions.yml', import.meta.url));

/** Splits a shell command line into words (single and double quotes, no expansion needed here). */
const words = (line: string): string[] =>
  [...line.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3] ?? '');

/** The arguments after `echolot` of every `npx echolot SUBCOMMAND ...` in the workflow's run steps. */
function echolotCommands(yaml: string): string[][] {
  return yaml
    .split('\n')
    .filter((l) => /^\s+run: .*npx echolot /.test(l))
    .map((l) => {
      const w = words(l.replace(/^\s+run: /, ''));
      return w.slice(w.indexOf('echolot') + 1);
    });
}

describe('examples/github-actions.yml', () => {
  const yaml = readFileSync(EXAMPLE, 'utf8');

  it('is YAML a workflow runner can read, with one job', function () {
    const py = spawnSync(
      'python3',
      ['-c', 'import json,sys,yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))', EXAMPLE],
      { encoding: 'utf8', timeout: 20_000 },
    );
    if (py.status !== 0 && /No module named/.test(py.stderr)) {
      if (this.test) this.test.title += ' (skipped: python3-yaml is not installed)';
      this.skip();
    }
    expect(py.status, py.stderr).to.equal(0);
    const doc = JSON.parse(py.stdout) as {
      jobs: Record<string, { steps: { run?: string; uses?: string }[] }>;
    };
    const steps = Object.values(doc.jobs)[0]?.steps ?? [];
    expect(steps.some((s) => s.uses?.startsWith('actions/upload-artifact@') === true)).to.equal(true);
  });

  it('gates with check and load commands whose options echolot accepts', () => {
    const commands = echolotCommands(yaml);
    expect(commands.map((c) => c[0])).to.deep.equal(['check', 'load']);
    for (const args of commands) {
      if (args[0] === 'load') {
        const parsed = parseLoadArgs(args.slice(1));
        expect(parsed.thresholds).to.deep.equal(['p99<5ms', 'loss<0.1%']);
      } else {
        // --list parses every option and prints the selection without contacting the target.
        const r = spawnSync(process.execPath, [CLI, ...args, '--list'], {
          encoding: 'utf8',
          timeout: 20_000,
        });
        expect(r.status, r.stderr).to.equal(0);
        expect(args).to.include.members(['--expectations', '--fail-on-unexpected-pass']);
      }
    }
  });
});
