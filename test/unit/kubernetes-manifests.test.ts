import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, normalize, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import { Job } from 'kubernetes-models/batch/v1/Job';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { parseAllDocuments } from 'yaml';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DEPLOY = join(ROOT, 'deploy/kubernetes');
const START = join(DEPLOY, 'start.sh');
const COLLECT = join(DEPLOY, 'collect.sh');

/** The kubernetes-models class of every kind shipped under deploy/kubernetes/; a new kind must be added here. */
const MODELS: Record<string, (obj: object) => { validate(): void }> = {
  'v1/ConfigMap': (obj) => new ConfigMap(obj as IConfigMap),
  'batch/v1/Job': (obj) => new Job(obj as IJob),
};

interface Manifest {
  readonly file: string;
  readonly obj: { apiVersion?: string; kind?: string; metadata?: { name?: string } } & Record<
    string,
    unknown
  >;
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? yamlFiles(join(dir, e.name)) : /\.ya?ml$/.test(e.name) ? [join(dir, e.name)] : [],
  );
}

/** Every YAML document under deploy/kubernetes/, parsed (a syntax error fails the test). */
function manifests(): Manifest[] {
  return yamlFiles(DEPLOY).flatMap((path) => {
    const file = relative(ROOT, path);
    return parseAllDocuments(readFileSync(path, 'utf8')).flatMap((doc) => {
      expect(
        doc.errors.map((e) => e.message),
        file,
      ).to.deep.equal([]);
      const obj = doc.toJS() as Manifest['obj'] | null;
      return obj === null ? [] : [{ file, obj }];
    });
  });
}

/** Validates one object against the Kubernetes API schema of its kind; throws on a violation or an unknown kind. */
function validate(obj: Manifest['obj']): void {
  const key = `${obj.apiVersion ?? '?'}/${obj.kind ?? '?'}`;
  const model = MODELS[key];
  if (model === undefined) throw new Error(`no schema for ${key}`);
  model(obj).validate();
}

const configMaps = (all: Manifest[]): Map<string, Record<string, string>> =>
  new Map(
    all
      .filter((m) => m.obj.kind === 'ConfigMap')
      .map((m) => [m.obj.metadata?.name ?? '', (m.obj as IConfigMap).data ?? {}]),
  );

/**
 * What is wrong with a shard Job: the invariants of a distributed run. `$(VAR)` in the args is expanded
 * as the kubelet does, from the container's env and the ConfigMaps it names (an unknown one stays
 * verbatim, and is reported: Kubernetes would pass it on as text).
 */
function shardJobProblems(job: IJob, maps: Map<string, Record<string, string>>): string[] {
  const problems: string[] = [];
  const spec = job.spec;
  if (spec?.completionMode !== 'Indexed') problems.push(`completionMode ${String(spec?.completionMode)}`);
  if (!Number.isInteger(spec?.completions) || (spec?.completions ?? 0) < 1)
    problems.push(`completions ${String(spec?.completions)}`);
  if (spec?.parallelism !== spec?.completions)
    problems.push(`parallelism ${String(spec?.parallelism)} != completions ${String(spec?.completions)}`);
  if (spec?.template.spec?.restartPolicy !== 'Never') problems.push('restartPolicy is not Never');
  const containers = spec?.template.spec?.containers ?? [];
  if (containers.length !== 1) problems.push(`${containers.length} containers`);
  const c = containers[0];
  if (c === undefined) return problems;
  const env = new Map<string, string | undefined>();
  for (const from of c.envFrom ?? []) {
    const data = maps.get(from.configMapRef?.name ?? '');
    if (data === undefined)
      problems.push(`envFrom ConfigMap ${String(from.configMapRef?.name)} is not shipped`);
    for (const [k, v] of Object.entries(data ?? {})) env.set(k, v);
  }
  for (const e of c.env ?? []) {
    const ref = e.valueFrom?.configMapKeyRef;
    // echolot-start is written by start.sh at the start of a run (checked below).
    env.set(e.name, e.value ?? (ref !== undefined ? `<${ref.name}.${ref.key}>` : undefined));
  }
  const args = (c.args ?? []).map((a) =>
    a.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string) => {
      const v = env.get(name);
      if (v === undefined) problems.push(`${whole} is not defined`);
      return v ?? whole;
    }),
  );
  if (c.command !== undefined) problems.push('command overrides the image entrypoint (echolot)');
  if (args[0] !== 'load') problems.push(`runs ${String(args[0])}, not load`);
  const value = (flag: string): string | undefined => {
    const i = args.indexOf(flag);
    if (i < 0) problems.push(`no ${flag}`);
    return i < 0 ? undefined : args[i + 1];
  };
  const shards = value('--shards');
  if (shards !== undefined && shards !== String(spec?.completions))
    problems.push(`--shards ${shards} != completions ${String(spec?.completions)}`);
  if (value('--out') !== '-') problems.push('--out is not - (collect.sh reads the result from the log)');
  if (value('--start-at') !== '<echolot-start.START_AT>')
    problems.push('--start-at is not echolot-start.START_AT');
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(value('--run-id') ?? ''))
    problems.push('--run-id unfit for a directory');
  if (args.includes('--threshold'))
    problems.push('a shard judges thresholds (merge judges them on the whole run)');
  return problems;
}

const theJob = (all: Manifest[]): IJob => {
  const jobs = all.filter((m) => m.obj.kind === 'Job');
  expect(jobs.map((j) => j.obj.metadata?.name)).to.deep.equal(['echolot-shards']);
  return jobs[0]?.obj as unknown as IJob;
};

describe('deploy/kubernetes: the manifests of a distributed load run', () => {
  let all: Manifest[] = [];
  before(() => {
    all = manifests();
  });

  it('holds a ConfigMap of parameters and a Job, each valid against the Kubernetes API schema', () => {
    expect(all.map((m) => `${m.file}: ${m.obj.kind}`)).to.deep.equal([
      'deploy/kubernetes/load.yaml: ConfigMap',
      'deploy/kubernetes/load.yaml: Job',
    ]);
    for (const m of all) expect(() => validate(m.obj), `${m.file} ${m.obj.kind}`).to.not.throw();
  });

  it('keeps the run parameters in one ConfigMap: target, shards, rate, duration, run id', () => {
    const params = configMaps(all).get('echolot-load');
    expect(Object.keys(params ?? {})).to.include.members(['TARGET', 'SHARDS', 'RATE', 'DURATION', 'RUN_ID']);
  });

  it('runs one Indexed shard per completion, all at once, with --shards, --out - and the one start time', () => {
    expect(shardJobProblems(theJob(all), configMaps(all))).to.deep.equal([]);
  });

  it('rejects broken manifests: the schema and the invariants both fail', () => {
    const job = theJob(all);
    const broken = (mutate: (j: IJob) => void): IJob => {
      const copy = structuredClone(job);
      mutate(copy);
      return copy;
    };
    const notAnInt = broken((j) => Object.assign(j.spec ?? {}, { parallelism: 'four' }));
    expect(() => validate(notAnInt as unknown as Manifest['obj'])).to.throw(/parallelism must be integer/);
    const noTemplate = broken((j) => Object.assign(j, { spec: { completions: 4 } }));
    expect(() => validate(noTemplate as unknown as Manifest['obj'])).to.throw(/template/);
    expect(() => validate({ apiVersion: 'batch/v1', kind: 'CronJob' })).to.throw(/no schema/);

    const maps = configMaps(all);
    const problems = (mutate: (j: IJob) => void): string[] => shardJobProblems(broken(mutate), maps);
    expect(problems((j) => delete j.spec?.completionMode)).to.deep.equal(['completionMode undefined']);
    expect(problems((j) => Object.assign(j.spec ?? {}, { parallelism: 2 }))).to.deep.equal([
      'parallelism 2 != completions 4',
    ]);
    const args = (j: IJob): string[] => j.spec?.template.spec?.containers[0]?.args ?? [];
    expect(problems((j) => args(j).splice(args(j).indexOf('--out'), 2))).to.deep.include.members([
      'no --out',
    ]);
    expect(problems((j) => args(j).push('--threshold', 'p99<1ms'))).to.have.length(1);
    const otherShards = new Map(maps);
    otherShards.set('echolot-load', { ...maps.get('echolot-load'), SHARDS: '3' });
    expect(shardJobProblems(job, otherShards)).to.deep.equal(['--shards 3 != completions 4']);
    const noRunId = new Map(maps);
    const { RUN_ID: _dropped, ...rest } = maps.get('echolot-load') ?? {};
    noRunId.set('echolot-load', rest);
    expect(shardJobProblems(job, noRunId)).to.include('$(RUN_ID) is not defined');
  });

  it('names in the scripts the Job, the ConfigMaps and the container the manifests define', () => {
    const job = theJob(all);
    const start = readFileSync(START, 'utf8');
    const collect = readFileSync(COLLECT, 'utf8');
    const pod = job.spec?.template.spec;
    const startRef = pod?.containers[0]?.env?.find((e) => e.name === 'START_AT')?.valueFrom?.configMapKeyRef;
    expect(start).to.include(`create configmap ${startRef?.name} --from-literal="${startRef?.key}=`);
    const params = pod?.containers[0]?.envFrom?.[0]?.configMapRef?.name;
    for (const script of [start, collect]) {
      expect(script).to.include(`get job ${job.metadata?.name} `);
      expect(script).to.include(`get configmap ${params} `);
    }
    expect(collect).to.include(`-c ${pod?.containers[0]?.name} `);
    expect(pod?.topologySpreadConstraints?.[0]?.labelSelector?.matchLabels).to.deep.equal({
      'batch.kubernetes.io/job-name': job.metadata?.name,
    });
  });
});

/** A fake kubectl on PATH: records its arguments and answers from files in $FAKE. */
const FAKE_KUBECTL = `#!/bin/sh
printf '%s\\n' "$*" >>"$FAKE/calls"
[ "$1" = --namespace ] && shift 2
case "$1 $2 $3" in
  "get configmap echolot-load") case "$*" in *RUN_ID*) cat "$FAKE/RUN_ID" ;; *) cat "$FAKE/SHARDS" ;; esac ;;
  "get job echolot-shards") case "$*" in *completions*) cat "$FAKE/spec" ;; *) cat "$FAKE/status" ;; esac ;;
  "get pods -l") cat "$FAKE/pods" ;;
  "create configmap echolot-start") printf 'kind: ConfigMap\\n%s\\n' "$*" ;;
  "apply -f -") cat >>"$FAKE/applied" ;;
  logs*) cat "$FAKE/log-$2" ;;
esac
exit 0
`;

describe('deploy/kubernetes: start.sh and collect.sh (against a fake kubectl)', () => {
  let tmp = '';
  let fake = '';

  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), 'echolot-k8s-'));
    fake = join(tmp, 'fake');
    mkdirSync(join(tmp, 'bin'));
    mkdirSync(fake);
    writeFileSync(join(tmp, 'bin', 'kubectl'), FAKE_KUBECTL);
    chmodSync(join(tmp, 'bin', 'kubectl'), 0o755);
    const answers = { RUN_ID: 'k8s-run-7', SHARDS: '3', spec: '3 3', status: 'uid-1 ', pods: '' };
    for (const [k, v] of Object.entries(answers)) writeFileSync(join(fake, k), v);
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  const run = (script: string, args: string[], env: Record<string, string> = {}) => {
    const r = spawnSync('sh', [script, ...args], {
      cwd: tmp,
      encoding: 'utf8',
      timeout: 10_000,
      env: { ...process.env, ...env, PATH: `${join(tmp, 'bin')}:${process.env['PATH'] ?? ''}`, FAKE: fake },
    });
    const calls = existsSync(join(fake, 'calls'))
      ? readFileSync(join(fake, 'calls'), 'utf8').split('\n')
      : [];
    return { ...r, calls: calls.filter((l) => l !== '') };
  };

  it('start.sh writes one start time DELAY s ahead, then applies load.yaml after deleting the old Job', () => {
    const before = Date.now();
    const r = run(START, ['90']);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.calls[0]).to.equal('delete job echolot-shards --ignore-not-found --cascade=foreground');
    const startAt = Number(/START_AT=(\d+)/.exec(readFileSync(join(fake, 'applied'), 'utf8'))?.[1]);
    // date +%s has whole seconds: the start is 90 s ahead, to within the second the script took.
    expect(startAt).to.be.within(Math.floor(before / 1000) * 1000 + 90_000, Date.now() + 90_000);
    expect(r.calls).to.include(`apply -f ${resolve(DEPLOY, 'load.yaml')}`);
    expect(r.calls.indexOf(`apply -f ${resolve(DEPLOY, 'load.yaml')}`)).to.be.greaterThan(
      r.calls.findIndex((c) => c.startsWith('create configmap echolot-start')),
    );
    expect(r.stdout).to.include(`run k8s-run-7: 3 shards start at ${startAt} (epoch ms), in 90 s`);
  });

  it('start.sh refuses a bad DELAY, and SHARDS that differs from the Job, naming the value', () => {
    for (const bad of ['5', 'abc', '090', '3601', '-1', '60s']) {
      const r = run(START, [bad]);
      expect(r.status, bad).to.equal(64);
      expect(r.stderr.trim()).to.equal(
        `start.sh: DELAY '${bad}': must be whole seconds from 10 to 3600 (the time until the shards start)`,
      );
      expect(r.calls, bad).to.deep.equal([]);
    }
    writeFileSync(join(fake, 'spec'), '4 4');
    const r = run(START, ['60'], { NAMESPACE: 'load' });
    expect(r.status).to.equal(64);
    expect(r.stderr).to.match(
      /^start\.sh: SHARDS '3' in the ConfigMap echolot-load, but the Job has .* '4 4'/,
    );
    expect(r.calls.at(-1)).to.equal('--namespace load delete job echolot-shards --ignore-not-found');
  });

  it("collect.sh writes each succeeded shard's last JSON line to results/<RUN_ID>/ and names the missing", () => {
    const result = (i: number): string =>
      JSON.stringify({ runId: 'k8s-run-7', shard: { index: i, count: 3 } });
    writeFileSync(join(fake, 'pods'), '0 echolot-shards-0-aaa\n2 echolot-shards-2-ccc\n');
    writeFileSync(
      join(fake, 'log-echolot-shards-0-aaa'),
      `waiting for the start\n${result(0)}\nlatency ...\n`,
    );
    writeFileSync(join(fake, 'log-echolot-shards-2-ccc'), `${result(2)}\n`);
    const dir = join(tmp, 'results', 'k8s-run-7');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'shard-1.json'), 'of an earlier collection');

    const r = run(COLLECT, []);
    expect(r.status, r.stderr).to.equal(1);
    expect(readdirSync(dir).sort()).to.deep.equal(['shard-0.json', 'shard-2.json']);
    expect(readFileSync(join(dir, 'shard-0.json'), 'utf8')).to.equal(`${result(0)}\n`);
    expect(readFileSync(join(dir, 'shard-2.json'), 'utf8')).to.equal(`${result(2)}\n`);
    expect(r.stdout).to.include('run k8s-run-7: 2 of 3 shards collected into results/k8s-run-7');
    expect(r.stdout).to.include('missing shards: 1 ');
    expect(r.stdout).to.include('npx echolot merge results/k8s-run-7 --allow-partial');
    expect(r.calls).to.include(
      'get pods -l batch.kubernetes.io/controller-uid=uid-1 --field-selector=status.phase=Succeeded ' +
        '-o jsonpath={range .items[*]}{.metadata.annotations.batch\\.kubernetes\\.io/job-completion-index} {.metadata.name}{"\\n"}{end}',
    );

    writeFileSync(join(fake, 'pods'), '0 p0\n1 p1\n2 p2\n');
    for (const i of [0, 1, 2]) writeFileSync(join(fake, `log-p${i}`), `${result(i)}\n`);
    const all = run(COLLECT, [join(tmp, 'out')]);
    expect(all.status, all.stderr).to.equal(0);
    expect(readdirSync(join(tmp, 'out')).sort()).to.deep.equal([
      'shard-0.json',
      'shard-1.json',
      'shard-2.json',
    ]);
    expect(all.stdout).to.include(`then: npx echolot merge ${join(tmp, 'out')}\n`);
  });

  it('collect.sh refuses a run id unfit for a path and waits for running shards, writing nothing', () => {
    writeFileSync(join(fake, 'RUN_ID'), '../etc');
    const r = run(COLLECT, []);
    expect(r.status).to.equal(64);
    expect(r.stderr).to.match(/^collect\.sh: RUN_ID '\.\.\/etc' in the ConfigMap echolot-load: must be /);
    writeFileSync(join(fake, 'RUN_ID'), 'k8s-run-7');
    writeFileSync(join(fake, 'status'), 'uid-1 2');
    const busy = run(COLLECT, []);
    expect(busy.status).to.equal(75);
    expect(busy.stderr).to.match(/^collect\.sh: 2 shards of the Job echolot-shards are still running/);
    expect(existsSync(join(tmp, 'results'))).to.equal(false);
  });
});

/** Dockerfile instructions, continuation lines joined, comments dropped. */
function instructions(text: string): { op: string; args: string }[] {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const [op = '', ...rest] = l.split(/\s+/);
      return { op: op.toUpperCase(), args: rest.join(' ') };
    });
}

describe('Dockerfile: the image of the shards', () => {
  const steps = instructions(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
  const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'));

  it('builds on node:20, with npm ci and a check that the native module loads', () => {
    const bases = steps.filter((s) => s.op === 'FROM').map((s) => s.args.split(' ')[0]);
    expect(bases.length).to.be.greaterThan(0);
    for (const b of bases) expect(b).to.match(/^node:20([-.]|$)/);
    const runs = steps.filter((s) => s.op === 'RUN').map((s) => s.args);
    const builds = runs.filter((r) => /\bnpm ci\b/.test(r));
    expect(builds.some((r) => r.includes('ECHOLOT_IO=native node dist/harness/cli/main.js'))).to.equal(true);
  });

  it('copies sources that exist and are not excluded from the build context', () => {
    const copies = steps.filter((s) => s.op === 'COPY' && !s.args.startsWith('--from'));
    expect(copies.length).to.be.greaterThan(0);
    for (const { args } of copies) {
      const sources = args.split(' ').slice(0, -1);
      for (const src of sources) {
        expect(existsSync(join(ROOT, src)), src).to.equal(true);
        expect(ignored.includes(normalize(src).replace(/\/$/, '')), `${src} is in .dockerignore`).to.equal(
          false,
        );
      }
    }
  });

  it('copies everything npm ci builds from: the scripts, the native sources and every imported module', () => {
    const copied = steps
      .filter((s) => s.op === 'COPY' && !s.args.startsWith('--from'))
      .flatMap((s) => s.args.split(' ').slice(0, -1))
      .map((p) => normalize(p).replace(/\/$/, ''));
    const inImage = (path: string): boolean =>
      copied.some((c) => path === c || path.startsWith(`${c}/`)) && !path.startsWith('..');
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    for (const script of ['install', 'build', 'build:native']) {
      for (const file of (pkg.scripts[script] ?? '').match(/[\w./-]+\.(?:mjs|json)/g) ?? [])
        expect(inImage(file), `${script}: ${file}`).to.equal(true);
    }
    for (const src of readFileSync(join(ROOT, 'binding.gyp'), 'utf8').match(/native\/[\w.]+\.c/g) ?? [])
      expect(inImage(src), src).to.equal(true);
    // Every relative import of the compiled folders resolves inside what is copied (no import of test/ or bench/).
    const tsFiles = (dir: string): string[] =>
      readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
      );
    const compiled = ['harness', 'suites', 'reference-server'];
    for (const dir of compiled) expect(inImage(dir), dir).to.equal(true);
    for (const file of compiled.flatMap(tsFiles)) {
      for (const m of readFileSync(join(ROOT, file), 'utf8').matchAll(
        /(?:from|import\()\s*'(\.{1,2}\/[^']+)'/g,
      )) {
        const target = normalize(join(dirname(file), m[1] ?? ''));
        expect(inImage(target), `${file} imports ${m[1]}`).to.equal(true);
      }
    }
  });

  it('runs the CLI as its entrypoint, with the native module where the loader looks for it', () => {
    const entry = steps.find((s) => s.op === 'ENTRYPOINT');
    const argv = JSON.parse(entry?.args ?? '[]') as string[];
    expect(argv[0]).to.equal('node');
    const main = /^\/app\/dist\/(.+)\.js$/.exec(argv[1] ?? '')?.[1];
    expect(existsSync(join(ROOT, `${main}.ts`)), `${argv[1]}`).to.equal(true);
    const gyp = /"target_name":\s*"(\w+)"/.exec(readFileSync(join(ROOT, 'binding.gyp'), 'utf8'))?.[1];
    const loader = readFileSync(join(ROOT, 'harness/net/native-io.ts'), 'utf8');
    expect(loader).to.include(`require('../../../build/Release/${gyp}.node')`);
    expect(steps.map((s) => s.args)).to.include(`--from=build /app/build/Release/${gyp}.node build/Release/`);
    expect(steps.find((s) => s.op === 'WORKDIR')?.args).to.equal('/app');
  });
});
