import { sourcePortEvidence } from '../../../harness/conformance/source-port.js';
import { info, unsupported } from '../../../harness/conformance/case.js';
import { setUp, isSetup, probePorts } from './support.js';
import type { ConformanceCase } from '../../../harness/conformance/case.js';

/** Further privileged ports 7.3 probes: tcpmux, qotd, domain, sunrpc, ntp, exec/biff, the last one. */
const OTHER_LOW_PORTS: readonly number[] = [1, 17, 53, 111, 123, 512, 1023];

/** 7.3's verdict in words: which known inetd policy the refused set matches. */
function classifyPolicy(refused: Set<number>, answered: Set<number>): string {
  const low = (s: Set<number>): number[] => [...s].filter((p) => p < 1024).sort((a, b) => a - b);
  const refusedLow = low(refused);
  const answeredLow = low(answered);
  const nfs = refused.has(NFS_PORT) ? 'refused' : answered.has(NFS_PORT) ? 'answered' : 'not probed';
  const tail = `(refused: ${list(refusedLow)}; answered: ${list(answeredLow)}; ${NFS_PORT}: ${nfs})`;
  if (refusedLow.length === 0) return `none: answers every probed source port below 1024 ${tail}`;
  if (answeredLow.length === 0) {
    return refused.has(NFS_PORT)
      ? `OpenBSD-like: refuses every probed source port below 1024 and ${NFS_PORT} (NFS), as OpenBSD inetd's dg_badinput does ${tail}`
      : `refuses every probed source port below 1024, like OpenBSD inetd's dg_badinput but without its NFS (${NFS_PORT}) rule ${tail}`;
  }
  const probedLoop = NETBSD_PORTS.filter((p) => refused.has(p) || answered.has(p));
  if (refusedLow.length === probedLoop.length && probedLoop.every((p) => refused.has(p))) {
    return `NetBSD-like: refuses exactly the loop ports ${list(NETBSD_PORTS)} (NetBSD inetd's bad_ports list) and answers the other privileged ports ${tail}`;
  }
  if (refusedLow.every((p) => NETBSD_PORTS.includes(p))) {
    return `refuses only some loop ports, as FreeBSD inetd does (it refuses the ports of the built-in datagram services it runs) ${tail}`;
  }
  return `its own list ${tail}`;
}

/** NetBSD inetd's bad_ports list (usr.sbin/inetd): exactly these are refused. */
const NETBSD_PORTS: readonly number[] = [7, 9, 13, 19, 37];

/** NFS: OpenBSD inetd's dg_badinput refuses it besides every port below 1024. */
const NFS_PORT = 2049;

const list = (ports: readonly number[]): string => (ports.length ? ports.join(', ') : 'none');

/** 7.3: which policy the server follows for other source ports below 1024. */
export const case7_3: ConformanceCase = {
  id: '7.3',
  title: 'which policy the server follows for other source ports below 1024',
  klass: 'INFO',
  capability: 'binding source ports below 1024 needs root or CAP_NET_BIND_SERVICE',
  requirement:
    'Reports which privileged source ports are refused: none, NetBSD-like (only 7, 9, 13, 19, 37), OpenBSD-like (every port below 1024 and 2049), or another list.',
  source: 'NetBSD inetd (bad_ports), OpenBSD inetd (dg_badinput), FreeBSD inetd (check_loop)',
  provenBy: ['no-loop-protection'],
  disturbs: 'silence',
  run: async (ctx) => {
    if (!ctx.capabilities.privileged) {
      return unsupported('binding source ports below 1024 needs root or CAP_NET_BIND_SERVICE');
    }
    const setup = await setUp(ctx);
    if (!isSetup(setup)) return setup;
    const ports = [...NETBSD_PORTS, ...OTHER_LOW_PORTS, NFS_PORT];
    // A survey: an answer is this case's finding, not a breach of loop protection.
    const first = await probePorts(ctx, setup, ports, 'any');
    // A silent port may only have lost its datagram: ask it once more before calling it refused.
    const again = await probePorts(
      ctx,
      setup,
      first.filter((p) => p.outcome === 'silent').map((p) => p.port),
      'any',
    );
    const final = first.map((p) => again.find((a) => a.port === p.port) ?? p);
    const refused = new Set(final.filter((p) => p.outcome === 'silent').map((p) => p.port));
    const answered = new Set(final.filter((p) => p.outcome === 'answered').map((p) => p.port));
    const unbindable = final.filter((p) => p.outcome === 'unbindable');
    const evidence = {
      ...setup.evidence,
      probes: final.map((p) => sourcePortEvidence(setup.address, p)),
      secondRound: again.map((p) => p.port),
    };
    if (refused.size + answered.size === 0) {
      return unsupported(`cannot bind any probed port on ${setup.address}`, evidence);
    }
    const note = unbindable.length
      ? `; not probed: ${unbindable.map((p) => `${p.port} (${p.errno})`).join(', ')}`
      : '';
    return info(`${classifyPolicy(refused, answered)}${note}`, evidence);
  },
};
