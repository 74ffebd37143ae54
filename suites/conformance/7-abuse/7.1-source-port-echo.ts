import { sourcePortEvidence } from '../../../harness/conformance/source-port.js';
import { met, unsupported, violated } from '../../../harness/conformance/case.js';
import { setUp, isSetup, probePorts, replyPhrase } from './support.js';
import type { ConformanceCase } from '../../../harness/conformance/case.js';

/** 7.1: no reply to a datagram from source port 7. */
export const case7_1: ConformanceCase = {
  id: '7.1',
  title: 'no reply to a datagram from source port 7',
  klass: 'SHOULD',
  capability: 'binding source port 7 needs root or CAP_NET_BIND_SERVICE',
  requirement:
    'A datagram from source port 7 (another echo service) is not answered: answering it starts an echo<->echo loop.',
  source: 'CERT CA-1996-01, CVE-1999-0103',
  provenBy: ['no-loop-protection', 'dies-on-port-7'],
  disturbs: 'silence',
  run: async (ctx) => {
    if (!ctx.capabilities.privileged) {
      return unsupported('binding source port 7 needs root or CAP_NET_BIND_SERVICE');
    }
    const setup = await setUp(ctx);
    if (!isSetup(setup)) return setup;
    const [probe] = await probePorts(ctx, setup, [7]);
    if (!probe) throw new Error('7.1: no probe result');
    const evidence = { ...setup.evidence, probe: sourcePortEvidence(setup.address, probe) };
    if (probe.outcome === 'unbindable') {
      return unsupported(`cannot bind ${setup.address}:7 (${probe.errno})`, evidence);
    }
    if (probe.outcome === 'answered') {
      return violated(
        `answered a datagram from source port 7 (${replyPhrase(probe)}): two such echo services bounce a datagram between them forever`,
        evidence,
      );
    }
    return met(
      `no reply within ${setup.windowMs} ms to a datagram from ${setup.address}:7 (an ephemeral port on the same address was answered)`,
      evidence,
    );
  },
};
