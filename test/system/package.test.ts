/**
 * The package as a user gets it: `npm pack` (dist/ as `npm test` built it), installed into an empty
 * prefix, then the installed CLI, the library from an ESM script and its type declarations.
 */
import { expect } from 'chai';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const TSC = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
/** npm without progress, update checks or a CI's annotations. */
const ENV: NodeJS.ProcessEnv = {
  ...process.env,
  npm_config_update_notifier: 'false',
  npm_config_progress: 'false',
  GITHUB_ACTIONS: undefined,
  GITHUB_STEP_SUMMARY: undefined,
  NO_COLOR: '1',
};

function run(
  cmd: string,
  args: readonly string[],
  cwd: string,
  timeoutMs: number,
  env = ENV,
): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: timeoutMs });
}

const said = (r: SpawnSyncReturns<string>): string =>
  `exit ${r.status ?? r.signal}${r.error ? ` (${r.error.message})` : ''}\n${r.stdout}\n${r.stderr}`;

/** The installed package's `exports`: subpath to its conditions. */
type Exports = Record<string, string | { types?: string; default?: string }>;

/** A script that uses the library from the installed package, with its working directory empty. */
const LIBRARY_SCRIPT = `
import { readdirSync } from 'node:fs';
import { ECHOLOT_VERSION, runCheck, runLoad, startReferenceServer as fromMain } from 'echolot';
import { startReferenceServer } from 'echolot/reference-server';

const check = await runCheck({ only: ['1.1'] });
const load = await runLoad({ durationMs: 300, rate: 200, flows: 1, drainMs: 200, intervalMs: 100 });
const server = await startReferenceServer({ port: 0, bind: ['127.0.0.1'], log: () => {} });
const port = server.port;
await server.close();
process.stdout.write(JSON.stringify({
  version: ECHOLOT_VERSION,
  sameServer: fromMain === startReferenceServer,
  check: { total: check.summary.total, pass: check.summary.counts.PASS, exitCode: check.summary.exitCode },
  load: { sent: load.counters.sent, unique: load.counters.unique },
  port,
  files: readdirSync('.'),
}));
`;

/** Uses the declared types; \`@ts-expect-error\` fails the compile when a type is missing (any). */
const TYPES_SCRIPT = `
import {
  checkReport,
  evaluateThresholds,
  loadMatrixConfig,
  parseThresholds,
  runCheck,
  runLoad,
  runLoadSuite,
  runMatrix,
  runSearch,
  writeReport,
  type CheckRun,
  type LoadResult,
  type MatrixRun,
  type Summary,
} from 'echolot';
import { startReferenceServer, type ReferenceServer } from 'echolot/reference-server';

export async function use(): Promise<number> {
  const check: CheckRun = await runCheck({ only: ['1.*'] });
  const summary: Summary = check.summary;
  const load: LoadResult = await runLoad({ durationMs: 100 });
  const server: ReferenceServer = await startReferenceServer({ port: 0 });
  // @ts-expect-error: a summary's total is a number
  const wrong: string = summary.total;
  // @ts-expect-error: runLoad has no option 'speed'
  await runLoad({ speed: 1 });
  await server.close();
  const breached = evaluateThresholds(load, parseThresholds(['loss<0.1%'])).filter((o) => !o.ok);
  const written = await writeReport('reports', await checkReport(check));
  const matrix: MatrixRun = await runMatrix(await loadMatrixConfig('matrix.json'));
  const search = await runSearch({ sizes: [64] }, { maxLossPercent: 0.1 });
  const suite = await runLoadSuite({ target: '127.0.0.1:9007' });
  return [summary.total, load.response.p99, breached.length, written.dir, matrix.result.runId,
    search.runId, suite.exitCode, wrong.length].length;
}
`;

describe('the npm package: pack, install into an empty prefix, use', function () {
  this.timeout(120_000);
  let dir = '';
  let prefix = '';
  let pkg = '';
  let install: SpawnSyncReturns<string> | undefined;

  before(function () {
    dir = mkdtempSync(join(tmpdir(), 'echolot-package-'));
    // dist/ is built already (the tests run from it): pack it as it is, without `prepare`'s rebuild.
    const pack = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], REPO, 60_000);
    expect(pack.status, said(pack)).to.equal(0);
    const [packed] = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[];
    if (packed === undefined) throw new Error(`npm pack printed no package: ${said(pack)}`);
    const files = packed.files.map((f) => f.path);
    expect(files).to.include.members(['dist/harness/cli/main.js', 'dist/harness/index.d.ts', 'binding.gyp']);
    expect(files.filter((f) => /^dist\/(test|bench)\/|\.map$/.test(f))).to.deep.equal([]);
    prefix = join(dir, 'prefix');
    mkdirSync(prefix);
    const args = ['install', '--prefix', prefix, '--no-audit', '--no-fund', '--foreground-scripts'];
    const tarball = join(dir, packed.filename);
    // The dependencies are in npm's cache after `npm ci`; the registry only when they are not.
    install = run('npm', [...args, '--offline', tarball], dir, 90_000);
    if (install.status !== 0) install = run('npm', [...args, tarball], dir, 90_000);
    expect(install.status, said(install)).to.equal(0);
    pkg = join(prefix, 'node_modules', 'echolot');
  });

  after(() => {
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('installs with the native module built, or one line saying why not', () => {
    const output = `${install?.stdout ?? ''}${install?.stderr ?? ''}`;
    const notices = output.split('\n').filter((l) => l.startsWith('echolot: native I/O not built'));
    if (existsSync(join(pkg, 'build', 'Release', 'echolot_io.node'))) expect(notices).to.deep.equal([]);
    else expect(notices, output).to.have.length(1);
    expect(output).not.to.match(/gyp ERR!/);
  });

  it('says in one line, exit 0, that it falls back when python3, make and cc are not there', () => {
    const bin = join(dir, 'bin-without-compiler');
    mkdirSync(bin);
    symlinkSync(process.execPath, join(bin, 'node'));
    const env = { ...ENV, PATH: bin, CC: undefined };
    const lenient = run(process.execPath, ['scripts/build-native.mjs'], pkg, 20_000, env);
    expect(lenient.status, said(lenient)).to.equal(0);
    expect(lenient.stderr).to.match(
      /^echolot: native I\/O not built \(python3, make, a C compiler \(cc, gcc or clang\) not found on PATH\); using node:dgram\n$/,
    );
    const strict = run(process.execPath, ['scripts/build-native.mjs', '--strict'], pkg, 20_000, env);
    expect(strict.status, said(strict)).to.equal(1);
    expect(strict.stderr.split('\n')).to.have.length(2);
  });

  it('runs the installed echolot: --version and check --only 1.*', () => {
    const bin = join(prefix, 'node_modules', '.bin', 'echolot');
    // Started through its first line: Node without V8's memory reducer (docs/load.md "Rate precision").
    expect(readFileSync(bin, 'utf8').split('\n')[0]).to.equal('#!/usr/bin/env -S node --no-memory-reducer');
    const version = run(bin, ['--version'], dir, 20_000);
    expect(version.status, said(version)).to.equal(0);
    const { version: expected } = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
      version: string;
    };
    expect(version.stdout).to.match(new RegExp(`^echolot ${expected.replace(/\./g, '\\.')}\\n`));
    const reports = join(dir, 'reports');
    const check = run(bin, ['check', '--only', '1.*', '--report-dir', reports, '--json'], dir, 60_000);
    expect(check.status, said(check)).to.equal(0);
    const summary = JSON.parse(check.stdout) as { results: { summary: { tests: number; passed: number } } };
    expect(summary.results.summary.tests).to.be.greaterThan(0);
    expect(summary.results.summary.passed).to.equal(summary.results.summary.tests);
    const [runDir] = readdirSync(reports);
    expect(readdirSync(join(reports, runDir ?? ''))).to.include.members([
      'summary.json',
      'junit.xml',
      'index.html',
    ]);
  });

  it('runs runCheck, runLoad and the reference server from an ESM script, writing no file', () => {
    writeFileSync(join(prefix, 'library.mjs'), LIBRARY_SCRIPT);
    const cwd = join(prefix, 'empty');
    mkdirSync(cwd);
    const r = run(process.execPath, [join(prefix, 'library.mjs')], cwd, 60_000);
    expect(r.status, said(r)).to.equal(0);
    const out = JSON.parse(r.stdout) as {
      version: string;
      sameServer: boolean;
      check: { total: number; pass: number; exitCode: number };
      load: { sent: number; unique: number };
      port: number;
      files: string[];
    };
    const manifest = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };
    expect(out.version).to.equal(manifest.version);
    expect(out.check).to.deep.equal({ total: 1, pass: 1, exitCode: 0 });
    expect(out.load.sent).to.be.greaterThan(0);
    expect(out.load.unique).to.be.greaterThan(0);
    expect(out.port).to.be.greaterThan(0);
    expect(out.sameServer).to.equal(true);
    // A library call returns its result: no reports/ (or anything else) where it ran.
    expect(out.files).to.deep.equal([]);
    expect(readdirSync(cwd)).to.deep.equal([]);
  });

  it('declares types for every export path, and they type-check a consumer', function () {
    const manifest = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as { exports: Exports };
    const paths = Object.entries(manifest.exports).filter(([p]) => p !== './package.json');
    expect(paths.map(([p]) => p)).to.include.members(['.', './reference-server']);
    for (const [path, target] of paths) {
      expect(target, path).to.be.an('object');
      if (typeof target === 'string') continue;
      for (const file of [target.types, target.default]) {
        expect(file, `${path}: types and default`).to.be.a('string');
        expect(existsSync(join(pkg, file ?? '')), `${path}: ${file}`).to.equal(true);
      }
    }
    if (!existsSync(TSC)) this.skip();
    writeFileSync(join(prefix, 'consumer.mts'), TYPES_SCRIPT);
    writeFileSync(
      join(prefix, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          typeRoots: [join(REPO, 'node_modules', '@types')],
          types: ['node'],
        },
        files: ['consumer.mts'],
      }),
    );
    const tsc = run(process.execPath, [TSC, '-p', join(prefix, 'tsconfig.json')], prefix, 60_000);
    expect(tsc.status, said(tsc)).to.equal(0);
  });
});
