import { nonce } from '../../harness/probes/payloads.js';
import { exchangeEvidence } from '../../harness/probes/exchange.js';
import { conformanceCase, met, unsupported, violated } from '../support/case.js';
import { judgeBytes, request } from '../support/request.js';

/** A short printable request that names the case and carries a fresh nonce. */
const small = (id: string) => (): Buffer => Buffer.from(`echolot ${id} ${nonce()}`, 'latin1');

/** How long to keep listening for a second reply to one request. */
const GRACE_MS = 250;

describe('1 Basic echo', () => {
  conformanceCase('1.1', async (run) => {
    const r = await request(run, small('1.1'), { graceMs: GRACE_MS });
    const bytes = judgeBytes(run, r);
    if (bytes.status !== 'met') return bytes;
    if (r.extra.length > 0) {
      return violated(
        `${1 + r.extra.length} replies to one request within ${GRACE_MS} ms`,
        bytes.evidence,
        r.attempts,
      );
    }
    return met(`${bytes.message}, exactly once`, bytes.evidence, r.attempts);
  });

  conformanceCase('1.2', async (run) => {
    const r = await request(run, () => Buffer.alloc(0));
    const outcome = judgeBytes(run, r);
    return outcome.status === 'met'
      ? met('a zero-length datagram came back as a zero-length datagram', outcome.evidence, r.attempts)
      : outcome;
  });

  conformanceCase('1.3', async (run) => {
    const r = await request(run, small('1.3'));
    const [lo, hi] = run.capabilities.ephemeralRange;
    const evidence = { exchange: exchangeEvidence(r), ephemeralRange: `${lo}-${hi}` };
    if (r.local.port < lo || r.local.port > hi) {
      return unsupported(
        `the OS assigned port ${r.local.port}, outside its ephemeral range ${lo}-${hi}`,
        evidence,
      );
    }
    if (!r.reply)
      return violated(
        `no reply arrived on client port ${r.local.port} (${judgeBytes(run, r).message})`,
        evidence,
        r.attempts,
      );
    return met(
      `reply arrived on ephemeral client port ${r.local.port} (range ${lo}-${hi})`,
      evidence,
      r.attempts,
    );
  });

  conformanceCase('1.4', async (run) => {
    const r = await request(run, small('1.4'));
    const evidence = { exchange: exchangeEvidence(r) };
    if (!r.reply) return judgeBytes(run, r);
    if (r.reply.from.port !== run.target.port) {
      return violated(
        `the reply came from port ${r.reply.from.port}; the request was sent to port ${run.target.port}`,
        evidence,
        r.attempts,
      );
    }
    return met(`the reply came from port ${r.reply.from.port}`, evidence, r.attempts);
  });
});
