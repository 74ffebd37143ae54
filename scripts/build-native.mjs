// Builds the optional native datagram I/O module (native/echolot_io.c) with node-gyp. Without it (another
// OS, no compiler) echolot runs on node:dgram, so a failed build never fails the install; --strict makes
// it fail, for CI and for `npm run build:native`.
import { spawnSync } from 'node:child_process';
import { platform } from 'node:os';

const strict = process.argv.includes('--strict');

function finish(ok, why) {
  if (ok) return;
  process.stderr.write(`echolot: native I/O not built (${why}); using node:dgram\n`);
  process.exitCode = strict ? 1 : 0;
}

if (platform() !== 'linux') {
  finish(false, `the module uses recvmmsg/sendmmsg and IP_PKTINFO, which need Linux, not ${platform()}`);
} else {
  // npm runs scripts with its bundled node-gyp on PATH and names it in npm_config_node_gyp.
  const gyp = process.env['npm_config_node_gyp'];
  const [cmd, args] = gyp ? [process.execPath, [gyp]] : ['node-gyp', []];
  const r = spawnSync(cmd, [...args, 'rebuild', '--loglevel=warn'], { stdio: 'inherit' });
  finish(r.status === 0, r.error ? r.error.message : `node-gyp exited with ${r.status ?? r.signal}`);
}
