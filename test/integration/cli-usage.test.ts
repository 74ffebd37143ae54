import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHECK_COMMAND } from '../../harness/cli/check-command.js';
import { COMPLETION_COMMAND } from '../../harness/cli/completion-command.js';
import { LOAD_COMMAND } from '../../harness/cli/load-command.js';
import { MATRIX_COMMAND } from '../../harness/cli/matrix-command.js';
import { SERVE_COMMAND } from '../../harness/cli/serve-command.js';
import { runCli } from '../helpers/cli.js';

const HELP: Record<string, string> = {
  check: CHECK_COMMAND.help,
  load: LOAD_COMMAND.help,
  matrix: MATRIX_COMMAND.help,
  serve: SERVE_COMMAND.help,
  completion: COMPLETION_COMMAND.help,
};

/** Exactly one line on stderr, and the exit code of a usage error. */
function usage(r: { code: number | null; stderr: string; stdout: string }): string {
  expect(r.code, r.stderr).to.equal(64);
  expect(r.stderr.trim().split('\n'), r.stderr).to.have.length(1);
  expect(r.stdout).to.equal('');
  return r.stderr.trim();
}

describe('echolot usage (CLI): help, mistakes, completion', function () {
  this.timeout(30_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'echolot-usage-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('shows a command help with `echolot help COMMAND`, and the top-level help with `echolot help`', async () => {
    const runs = await Promise.all(Object.keys(HELP).map((command) => runCli(['help', command])));
    for (const [i, command] of Object.keys(HELP).entries()) {
      const r = runs[i] as { code: number | null; stdout: string; stderr: string };
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout, command).to.equal(HELP[command]);
      expect(r.stdout, command).to.match(new RegExp(`^Usage: echolot ${command}`));
      expect(r.stdout, command).to.match(/\nExamples:\n {2}\S/);
    }
    const top = await runCli(['help']);
    expect(top.code).to.equal(0);
    expect(top.stdout).to.match(/\nExamples:\n {2}echolot /);
    for (const code of [0, 1, 2, 64, 69, 70, 74, 77]) expect(top.stdout).to.match(new RegExp(`\\b${code} `));
    expect(usage(await runCli(['help', 'chek']))).to.equal(
      "echolot: unknown command 'chek' (did you mean check?)",
    );
  });

  it('says which option or command was meant, in one line, exit 64', async () => {
    expect(usage(await runCli(['check', '--stict']))).to.equal(
      'echolot: unknown option --stict for check (did you mean --strict?)',
    );
    expect(usage(await runCli(['chek']))).to.equal("echolot: unknown command 'chek' (did you mean check?)");
    expect(usage(await runCli(['load', '--durration', '1s']))).to.equal(
      'echolot: unknown option --durration for load (did you mean --duration?)',
    );
  });

  it('names the flag, the rule and the value of a negative number', async () => {
    expect(usage(await runCli(['load', '--rate', '-5']))).to.match(/^echolot: --rate -5: must be /);
    expect(usage(await runCli(['check', '--retries', '-1']))).to.equal(
      'echolot: --retries -1: must be an integer in 0..10',
    );
  });

  it("refuses --only '' and --exclude '' instead of running the whole catalogue", async () => {
    expect(usage(await runCli(['check', '--list', '--only', '']))).to.match(/^echolot: --only '': must name/);
    expect(usage(await runCli(['check', '--list', '--exclude', '']))).to.match(
      /^echolot: --exclude '': must name/,
    );
  });

  it('suggests a valid target for an IPv6 address without brackets', async () => {
    expect(usage(await runCli(['check', '2001:db8::10']))).to.equal(
      'echolot: target 2001:db8::10: write an IPv6 address in brackets, e.g. [2001:db8::10]:7',
    );
  });

  it('prints a bash completion script that bash reads and that completes every option', async () => {
    const r = await runCli(['completion', 'bash']);
    expect(r.code, r.stderr).to.equal(0);
    const script = join(dir, 'echolot.bash');
    writeFileSync(script, r.stdout);
    expect(spawnSync('bash', ['-n', script], { encoding: 'utf8' }).stderr).to.equal('');
    expect(spawnSync('bash', ['-n', script]).status).to.equal(0);
    // Every option of every command, as its parser has it: complete `echolot CMD -` and compare.
    const complete = (words: string[]): string[] => {
      const probe = `source ${JSON.stringify(script)}
COMP_WORDS=(${words.map((w) => JSON.stringify(w)).join(' ')}); COMP_CWORD=${words.length - 1}
_echolot; printf '%s\\n' "\${COMPREPLY[@]}"`;
      const out = spawnSync('bash', ['--norc', '--noprofile', '-c', probe], { encoding: 'utf8' });
      expect(out.status, out.stderr).to.equal(0);
      return out.stdout.split('\n').filter(Boolean);
    };
    for (const command of ['check', 'load', 'matrix', 'serve']) {
      const options = [...(HELP[command] ?? '').matchAll(/^ {2}(?:(-\w), )?(--[a-z0-9-]+)/gm)].flatMap((m) =>
        m[1] === undefined ? [m[2] as string] : [m[1], m[2] as string],
      );
      expect(options.length, command).to.be.greaterThan(5);
      expect(complete(['echolot', command, '-']), command).to.include.members(options);
    }
    expect(complete(['echolot', 'load', '-'])).to.include.members(['-d', '-r', '-c']);
    expect(complete(['echolot', 'check', '--st'])).to.deep.equal(['--strict']);
    expect(complete(['echolot', 'ch'])).to.deep.equal(['check']);
    expect(complete(['echolot', 'load', '--mode', 's'])).to.deep.equal(['search']);
    expect(complete(['echolot', 'completion', ''])).to.deep.equal(['bash', 'zsh']);
  });

  it('prints a zsh script and refuses another shell', async () => {
    const zsh = await runCli(['completion', 'zsh']);
    expect(zsh.code, zsh.stderr).to.equal(0);
    expect(zsh.stdout).to.match(/^#compdef echolot\n/);
    expect(usage(await runCli(['completion', 'fish']))).to.equal(
      'echolot: completion fish: must be bash or zsh',
    );
  });
});
