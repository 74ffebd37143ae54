/**
 * The interop matrix config: which echo servers to start (or reach), how to tell they are ready,
 * and which cases to run against each. JSON, validated field by field; every problem names the
 * field, the rule and the value it got, and the whole file is a usage error (exit 64).
 */
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { HarnessError, type Problem } from '../errors.js';
import type { MatrixCheckOptions } from '../results/matrix-result.js';

export type { MatrixCheckOptions } from '../results/matrix-result.js';

/** How to learn a server's version for the report. */
export type VersionSource =
  /** `dpkg-query -W -f '${Version}' PACKAGE` */
  | { readonly package: string }
  /** Run `command`; the first group of `match` (a regex over stdout+stderr) is the version. */
  | { readonly command: readonly string[]; readonly match: string };

/** When a started server counts as ready. */
export interface ReadyCheck {
  /** A regex over the server's stdout and stderr; its first group, when present, is the port it listens on. */
  readonly line?: string;
  /** Echo probes until one comes back (the default when `line` is absent). */
  readonly probe?: boolean;
  /** Give up after this long. @defaultValue 10000 */
  readonly timeoutMs: number;
}

/** One column of the matrix: a server reached at an address, or started by a command. */
export interface MatrixTarget {
  /** Column name and report directory name: [a-z0-9][a-z0-9._-]*. */
  readonly name: string;
  /** One line: what this server is. */
  readonly description: string;
  /** HOST:PORT of a server that is already running (no `command`). */
  readonly address?: string;
  /**
   * argv of the server to start. `{dir}`: a fresh temp directory holding `files`; `{port}`: the
   * port; `{address}`, `{address2}`: the test host's addresses (127.0.0.1 without one); `{ipv6}`,
   * `{ipv6_2}`: its IPv6 addresses (::1 without them), `{linklocal}`: its link-local address as a
   * process inside binds it (fe80::2%IFACE; ::1 without IPv6 addresses); `{node}`,
   * `{echolot}`: this Node and this CLI (also in a version command); `{configdir}`: the config
   * file's directory.
   */
  readonly command?: readonly string[];
  /** Files written into `{dir}` before the command starts (name -> content; `{dir}` and `{port}` are substituted). */
  readonly files: Readonly<Record<string, string>>;
  /** Port the started server listens on; 0 = learn it from the ready line. @defaultValue 7 */
  readonly port: number;
  /**
   * Start the command inside a test host (network namespace) with this many extra IPv4 addresses
   * and global IPv6 addresses (2001:2::/48; with any, also a link-local address fe80::2).
   */
  readonly testHost?: { readonly extraAddresses: number; readonly ipv6Addresses: number };
  readonly ready: ReadyCheck;
  readonly version?: VersionSource;
  /** Cases for this target only, on top of the matrix selection. */
  readonly only: readonly string[];
  readonly exclude: readonly string[];
  /** Free text for docs/interop.md: how the findings were checked by hand, caveats. */
  readonly notes: readonly string[];
}

/** A validated matrix config. */
export interface MatrixConfig {
  /** The config file, as given. */
  readonly file: string;
  readonly title: string;
  /** How many targets are checked at once. @defaultValue 2 */
  readonly concurrency: number;
  readonly check: MatrixCheckOptions;
  readonly targets: readonly MatrixTarget[];
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

const show = (v: unknown): string => {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
};

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads one object's fields and records problems; unknown keys are problems too (a typo must not pass silently). */
class Fields {
  constructor(
    private readonly problems: Problem[],
    private readonly path: string,
    private readonly obj: Obj,
    known: readonly string[],
  ) {
    for (const k of Object.keys(obj)) {
      if (!known.includes(k) && !k.startsWith('$')) {
        problems.push({ path: `${path}.${k}`, message: `unknown field (known: ${known.join(', ')})` });
      }
    }
  }
  /** Records that `key` breaks `rule`. */
  reject(key: string, rule: string): void {
    this.bad(key, rule);
  }
  private bad(key: string, rule: string): undefined {
    this.problems.push({ path: `${this.path}.${key}`, message: `${rule}, got ${show(this.obj[key])}` });
    return undefined;
  }
  has(key: string): boolean {
    return this.obj[key] !== undefined;
  }
  str(key: string, pattern?: RegExp, rule?: string): string | undefined {
    const v = this.obj[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v === '') return this.bad(key, 'must be a non-empty string');
    if (pattern && !pattern.test(v)) return this.bad(key, rule ?? `must match ${String(pattern)}`);
    return v;
  }
  int(key: string, min: number, max: number): number | undefined {
    const v = this.obj[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
      return this.bad(key, `must be an integer in ${min}..${max}`);
    }
    return v;
  }
  bool(key: string): boolean | undefined {
    const v = this.obj[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') return this.bad(key, 'must be true or false');
    return v;
  }
  strings(key: string, nonEmpty = false): string[] | undefined {
    const v = this.obj[key];
    if (v === undefined) return undefined;
    if (
      !Array.isArray(v) ||
      v.some((s) => typeof s !== 'string' || s === '') ||
      (nonEmpty && v.length === 0)
    ) {
      return this.bad(key, `must be a${nonEmpty ? ' non-empty' : 'n'} array of non-empty strings`);
    }
    return v as string[];
  }
  obj_(key: string): Obj | undefined {
    const v = this.obj[key];
    if (v === undefined) return undefined;
    if (!isObj(v)) return this.bad(key, 'must be an object');
    return v;
  }
  regex(key: string): string | undefined {
    const s = this.str(key);
    if (s === undefined) return undefined;
    try {
      new RegExp(s);
      return s;
    } catch {
      return this.bad(key, 'must be a valid regular expression');
    }
  }
}

const NAME = /^[a-z0-9][a-z0-9._-]{0,39}$/;
/** The forms `--only` accepts (harness/check/selection.ts). */
const CASE_PATTERN = /^[0-9]+(\.[0-9]+)?$|^[0-9*]+(\.[0-9*]+)?$/;

function caseList(f: Fields, key: string): string[] {
  const list = f.strings(key) ?? [];
  if (list.some((s) => !CASE_PATTERN.test(s))) f.reject(key, 'must be case IDs or globs such as 1.1, 3.*');
  return list;
}

function parseTarget(problems: Problem[], path: string, v: Json): MatrixTarget | undefined {
  if (!isObj(v)) {
    problems.push({ path, message: `must be an object, got ${show(v)}` });
    return undefined;
  }
  const f = new Fields(problems, path, v, [
    'name',
    'description',
    'address',
    'command',
    'files',
    'port',
    'testHost',
    'ready',
    'version',
    'only',
    'exclude',
    'notes',
  ]);
  const before = problems.length;
  const name = f.str('name', NAME, 'must be 1-40 of a-z 0-9 . _ - (a column and directory name)');
  if (!f.has('name')) problems.push({ path: `${path}.name`, message: 'is required' });
  const description = f.str('description') ?? '';
  const address = f.str('address', /^(\[[^\]]+\]|[^:[\]]+):\d{1,5}$/, 'must be HOST:PORT or [IPV6]:PORT');
  const command = f.strings('command', true);
  if ((address === undefined) === (command === undefined) && !(f.has('address') && f.has('command'))) {
    problems.push({
      path,
      message: 'needs exactly one of address (a running server) or command (one to start)',
    });
  } else if (f.has('address') && f.has('command')) {
    problems.push({ path: `${path}.address`, message: 'and command exclude each other' });
  }
  if (address !== undefined) {
    const host = address.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
    const ip4 = isIP(host) === 4 && host.startsWith('127.');
    const ip6 = host === '::1';
    if (!ip4 && !ip6 && host !== 'localhost') {
      problems.push({
        path: `${path}.address`,
        message: `must be a loopback address (127/8, ::1), got ${show(address)}`,
      });
    }
  }
  const files: Record<string, string> = {};
  const filesObj = f.obj_('files');
  for (const [k, c] of Object.entries(filesObj ?? {})) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(k)) {
      problems.push({ path: `${path}.files.${k}`, message: 'file name must be a plain name without /' });
    } else if (typeof c !== 'string') {
      problems.push({
        path: `${path}.files.${k}`,
        message: `must be the file's content as a string, got ${show(c)}`,
      });
    } else files[k] = c;
  }
  const port = f.int('port', 0, 65535) ?? 7;
  let testHost: MatrixTarget['testHost'];
  const th = f.obj_('testHost');
  if (th) {
    const g = new Fields(problems, `${path}.testHost`, th, ['extraAddresses', 'ipv6Addresses']);
    testHost = {
      extraAddresses: g.int('extraAddresses', 0, 8) ?? 0,
      ipv6Addresses: g.int('ipv6Addresses', 0, 8) ?? 0,
    };
    if (address !== undefined)
      problems.push({ path: `${path}.testHost`, message: 'needs command (a server to start in it)' });
  }
  const readyObj = f.obj_('ready') ?? {};
  const r = new Fields(problems, `${path}.ready`, readyObj, ['line', 'probe', 'timeoutMs']);
  const line = r.regex('line');
  const probe = r.bool('probe');
  const ready: ReadyCheck = {
    ...(line === undefined ? {} : { line }),
    ...(probe === undefined ? {} : { probe }),
    timeoutMs: r.int('timeoutMs', 100, 60_000) ?? 10_000,
  };
  if (port === 0 && (line === undefined || !/\((?!\?)/.test(line))) {
    problems.push({
      path: `${path}.port`,
      message: 'is 0 (learn it), which needs ready.line with a group that captures the port',
    });
  }
  let version: VersionSource | undefined;
  const vo = f.obj_('version');
  if (vo) {
    const g = new Fields(problems, `${path}.version`, vo, ['package', 'command', 'match']);
    const pkg = g.str('package', /^[a-z0-9][a-z0-9.+-]+$/, 'must be a Debian package name');
    const vc = g.strings('command', true);
    const match = g.regex('match');
    if (pkg !== undefined && vc === undefined) version = { package: pkg };
    else if (vc !== undefined && match !== undefined && pkg === undefined) version = { command: vc, match };
    else
      problems.push({
        path: `${path}.version`,
        message: `needs either package, or command and match, got ${show(vo)}`,
      });
  }
  const only = caseList(f, 'only');
  const exclude = caseList(f, 'exclude');
  const notes = f.strings('notes') ?? [];
  if (problems.length > before || name === undefined) return undefined;
  return {
    name,
    description,
    ...(address === undefined ? {} : { address }),
    ...(command === undefined ? {} : { command }),
    files,
    port,
    ...(testHost ? { testHost } : {}),
    ready,
    ...(version ? { version } : {}),
    only,
    exclude,
    notes,
  };
}

/** Validates a parsed config document; throws one usage HarnessError naming every problem. */
export function parseMatrixConfig(doc: unknown, file: string): MatrixConfig {
  const problems: Problem[] = [];
  const fail = (): never => {
    throw new HarnessError(
      'ERR_ECHOLOT_USAGE',
      `--config ${file}: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`,
    );
  };
  if (!isObj(doc)) {
    problems.push({ path: '(top level)', message: `must be an object, got ${show(doc)}` });
    return fail();
  }
  const f = new Fields(problems, 'config', doc, ['title', 'concurrency', 'check', 'targets']);
  const title = f.str('title') ?? 'echolot interop matrix';
  const concurrency = f.int('concurrency', 1, 8) ?? 2;
  const c = new Fields(problems, 'config.check', f.obj_('check') ?? {}, [
    'only',
    'exclude',
    'seed',
    'timeoutMs',
    'retries',
    'runs',
  ]);
  const check: MatrixCheckOptions = {
    only: caseList(c, 'only'),
    exclude: caseList(c, 'exclude'),
    seed: c.int('seed', -0x80000000, 0x7fffffff) ?? 862,
    timeoutMs: c.int('timeoutMs', 10, 60_000) ?? 1000,
    retries: c.int('retries', 0, 10) ?? 2,
    runs: c.int('runs', 1, 100_000) ?? 200,
  };
  const raw = doc['targets'];
  const targets: MatrixTarget[] = [];
  if (!Array.isArray(raw) || raw.length === 0) {
    problems.push({
      path: 'config.targets',
      message: `must be a non-empty array of targets, got ${show(raw)}`,
    });
  } else {
    raw.forEach((t, i) => {
      const parsed = parseTarget(problems, `config.targets[${i}]`, t);
      if (parsed) targets.push(parsed);
    });
    const seen = new Set<string>();
    for (const t of targets) {
      if (seen.has(t.name))
        problems.push({ path: 'config.targets', message: `name ${show(t.name)} is used twice` });
      seen.add(t.name);
    }
  }
  if (problems.length > 0) fail();
  return { file, title, concurrency, check, targets };
}

/** Reads and validates a matrix config file (exit 64 on any problem, naming the field). */
export async function loadMatrixConfig(file: string): Promise<MatrixConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new HarnessError('ERR_ECHOLOT_USAGE', `--config ${file}: cannot read (${(err as Error).message})`, {
      cause: err,
    });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new HarnessError(
      'ERR_ECHOLOT_USAGE',
      `--config ${file}: not valid JSON (${(err as Error).message})`,
      {
        cause: err,
      },
    );
  }
  return parseMatrixConfig(doc, file);
}
