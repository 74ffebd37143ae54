import { sourcePortEvidence } from '../../../harness/conformance/source-port.js';
import { met, unsupported, violated } from '../../../harness/conformance/case.js';
import { setUp, isSetup, probePorts, replyPhrase } from './support.js';
import type { ConformanceCase } from '../../../harness/conformance/case.js';

/** Source ports of the classic loop and reflection services, as 7.2 names them. */
const LOOP_SERVICES: readonly (readonly [number, string])[] = [
  [19, 'chargen'],
  [9, 'discard'],
  [13, 'daytime'],
  [37, 'time'],
];

/** 7.2: no reply from source ports 19, 9, 13 and 37. */
export const case7_2: ConformanceCase = {
  id: '7.2',
  title: 'no reply from source ports 19, 9, 13 and 37',
  klass: 'SHOULD',
  capability: 'binding source ports below 1024 needs root or CAP_NET_BIND_SERVICE',
  requirement:
    'Datagrams from chargen (19), discard (9), daytime (13) and time (37) are not answered: each answer feeds a loop or a reflection.',
  source: 'CERT CA-1996-01, CVE-1999-0103, CVE-2024-2169',
  provenBy: ['no-loop-protection'],
  disturbs: 'silence',
  run: async (ctx) => {
    if (!ctx.capabilities.privileged) {
      return unsupported('binding source ports 19, 9, 13 and 37 needs root or CAP_NET_BIND_SERVICE');
    }
    const setup = await setUp(ctx);
    if (!isSetup(setup)) return setup;
    const probes = await probePorts(
      ctx,
      setup,
      LOOP_SERVICES.map(([port]) => port),
    );
    const name = (port: number): string => `${port} (${LOOP_SERVICES.find(([p]) => p === port)?.[1]})`;
    const evidence = {
      ...setup.evidence,
      probes: probes.map((p) => sourcePortEvidence(setup.address, p)),
    };
    const unbindable = probes.filter((p) => p.outcome === 'unbindable');
    const answered = probes.filter((p) => p.outcome === 'answered');
    const note = unbindable.length
      ? `; not probed: ${unbindable.map((p) => `${p.port} (${p.errno})`).join(', ')}`
      : '';
    if (answered.length > 0) {
      return violated(
        `answered datagrams from source ports ${answered.map((p) => `${name(p.port)}: ${replyPhrase(p)}`).join('; ')}${note}`,
        evidence,
      );
    }
    if (unbindable.length === probes.length) {
      return unsupported(`cannot bind any of the ports on ${setup.address}${note}`, evidence);
    }
    const silent = probes.filter((p) => p.outcome === 'silent').map((p) => name(p.port));
    return met(
      `no reply within ${setup.windowMs} ms from source ports ${silent.join(', ')}${note}`,
      evidence,
    );
  },
};
