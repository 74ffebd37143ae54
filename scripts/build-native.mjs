// Builds the optional native datagram I/O module (native/*.c, binding.gyp) with node-gyp. Without it (another
// OS, no compiler) echolot runs on node:dgram, so a failed build never fails the install: it prints one
// line saying why, and keeps node-gyp's output in build/native-build.log. --strict makes it fail and shows
// node-gyp's output as it comes, for CI and for `npm run build:native`.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, writeFileSync } from 'node:fs';
import { platform } from 'node:os';
import { delimiter, isAbsolute, join } from 'node:path';

const strict = process.argv.includes('--strict');
const LOG = join('build', 'native-build.log');
/** A build takes seconds; this only bounds a node-gyp that waits for ever (e.g. on a header download). */
const GYP_TIMEOUT_MS = 600_000;

function finish(ok, why) {
  if (ok) return;
  process.stderr.write(`echolot: native I/O not built (${why}); using node:dgram\n`);
  process.exitCode = strict ? 1 : 0;
}

/** Whether `name` (or an absolute path) is an executable file on PATH. */
function onPath(name) {
  const candidates = isAbsolute(name)
    ? [name]
    : (process.env['PATH'] ?? '')
        .split(delimiter)
        .filter((d) => d !== '')
        .map((d) => join(d, name));
  return candidates.some((file) => {
    try {
      accessSync(file, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** What node-gyp needs and is not there, in words (undefined when everything is). */
function missingTools() {
  const missing = [];
  const python = [process.env['npm_config_python'], process.env['PYTHON'], 'python3', 'python'];
  if (!python.some((p) => p !== undefined && p !== '' && onPath(p))) missing.push('python3');
  if (!onPath('make')) missing.push('make');
  const cc = process.env['CC']?.trim().split(/\s+/)[0];
  if (cc !== undefined && cc !== '') {
    if (!onPath(cc)) missing.push(`the C compiler CC=${cc}`);
  } else if (!['cc', 'gcc', 'clang'].some(onPath)) missing.push('a C compiler (cc, gcc or clang)');
  return missing.length === 0 ? undefined : `${missing.join(', ')} not found on PATH`;
}

/** The first line of node-gyp's output that says what went wrong. */
function reasonOf(output) {
  const lines = output.split('\n').map((l) => l.trim());
  const compiler = lines.find((l) => /(^|\s)(fatal )?error:/.test(l) && !l.startsWith('gyp '));
  const gyp = lines.map((l) => /^gyp ERR! stack Error: (.*)$/.exec(l)?.[1]).find((m) => m !== undefined);
  const why = compiler ?? gyp;
  return why === undefined ? undefined : why.length > 160 ? `${why.slice(0, 157)}...` : why;
}

function build() {
  const missing = missingTools();
  if (missing !== undefined) return finish(false, missing);
  // npm runs scripts with its bundled node-gyp on PATH and names it in npm_config_node_gyp.
  const gyp = process.env['npm_config_node_gyp'];
  const [cmd, args] = gyp ? [process.execPath, [gyp]] : ['node-gyp', []];
  const r = spawnSync(cmd, [...args, 'rebuild', '--loglevel=warn'], {
    stdio: strict ? 'inherit' : ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    timeout: GYP_TIMEOUT_MS,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status === 0) return finish(true);
  const status = r.error ? r.error.message : `node-gyp exited with ${r.status ?? r.signal}`;
  if (strict) return finish(false, status);
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  let logged = '';
  try {
    mkdirSync('build', { recursive: true });
    writeFileSync(LOG, output);
    logged = `; ${LOG} has its output`;
  } catch {
    // The notice is what matters; without the log it still says why.
  }
  finish(false, `${reasonOf(output) ?? status}${logged}`);
}

if (platform() !== 'linux') {
  finish(false, `the module uses recvmmsg/sendmmsg and IP_PKTINFO, which need Linux, not ${platform()}`);
} else {
  build();
}
