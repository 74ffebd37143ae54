import { pythonAvailable, rawUdpProbe } from '../../../harness/probes/raw-udp.js';
import { met, unsupported, violated } from '../../../harness/conformance/case.js';
import { formatEndpoint, isLoopback } from '../../../harness/core/address.js';
import { setUp, isSetup } from './support.js';
import type { ConformanceCase } from '../../../harness/conformance/case.js';

/** 7.4: no reply to a datagram from source port 0. */
export const case7_4: ConformanceCase = {
  id: '7.4',
  title: 'no reply to a datagram from source port 0',
  klass: 'SHOULD',
  capability:
    'sending from source port 0 needs a raw socket (CAP_NET_RAW) and python3, and a loopback target or --i-own-the-target',
  requirement: 'A datagram from source port 0 ("no reply expected", RFC 768) is not answered.',
  source: 'RFC 768, CVE-2024-2169',
  provenBy: ['no-loop-protection'],
  disturbs: 'silence',
  run: async (ctx) => {
    const caps = ctx.capabilities;
    if (!caps.linux)
      return unsupported(`the raw-socket helper needs Linux raw UDP sockets; this is ${caps.os}`);
    if (!caps.rawSockets) {
      return unsupported(
        'sending from source port 0 needs a raw socket (root or CAP_NET_RAW); node:dgram cannot',
      );
    }
    if (ctx.target.family !== 'IPv4') {
      return unsupported(
        `the raw-socket helper writes IPv4 datagrams only (the target is ${ctx.target.address})`,
      );
    }
    // A hand-made datagram goes only where the run owns the path: loopback, or --i-own-the-target (a test host).
    if (!isLoopback(ctx.target.address) && !ctx.options.ownTarget) {
      return unsupported(
        `the raw-socket helper writes to loopback targets, or with --i-own-the-target to one you own (the target is ${ctx.target.address}); it stays off other networks`,
      );
    }
    if (!pythonAvailable())
      return unsupported('sending from source port 0 needs python3 (raw-socket helper); none found');
    const setup = await setUp(ctx);
    if (!isSetup(setup)) return setup;
    const payload = ctx.wire.text();
    const to = { address: ctx.target.address, port: ctx.target.port };
    const r = await rawUdpProbe({ from: { address: setup.address, port: 0 }, to, payload }, setup.windowMs);
    if (r.kind === 'error') return unsupported(r.reason, setup.evidence);
    const evidence = {
      ...setup.evidence,
      probe: {
        local: formatEndpoint(setup.address, 0),
        sentLength: payload.length,
        replies: r.replies.map((x) => ({
          from: formatEndpoint(x.from.address, x.from.port),
          length: x.data.length,
        })),
      },
    };
    const reply = r.replies[0];
    if (reply) {
      return violated(
        `answered a datagram from source port 0 (reply from ${formatEndpoint(reply.from.address, reply.from.port)}, ${reply.data.length} bytes): port 0 means no reply is expected`,
        evidence,
      );
    }
    return met(`no reply within ${setup.windowMs} ms to a datagram from ${setup.address}:0`, evidence);
  },
};
