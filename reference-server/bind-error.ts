import { HarnessError, errnoOf } from '../harness/errors.js';
import { formatEndpoint } from '../harness/core/address.js';

const REASONS: Readonly<Record<string, string>> = {
  EADDRINUSE: 'address already in use',
  EADDRNOTAVAIL: 'address not available on this host',
  EAFNOSUPPORT: 'address family not supported on this host',
  EINVAL: 'invalid address for this host (unknown IPv6 scope?)',
  ENODEV: 'no such interface (unknown IPv6 scope)',
};

/** Turns a failed bind into a HarnessError that names the address, the port and what to do about it. */
export function bindError(err: unknown, address: string, port: number): HarnessError {
  const endpoint = formatEndpoint(address, port);
  const code = errnoOf(err);
  if (code === 'EACCES' || code === 'EPERM') {
    return new HarnessError(
      'ERR_ECHOLOT_BIND_PERMISSION',
      `cannot bind udp ${endpoint}: permission denied (ports below 1024 need privilege): use --port 7007, ` +
        `or grant CAP_NET_BIND_SERVICE (setcap cap_net_bind_service=+ep $(command -v node))`,
      { cause: err },
    );
  }
  const reason =
    (code !== undefined ? REASONS[code] : undefined) ??
    (err instanceof Error ? err.message.split('\n')[0] : String(err));
  return new HarnessError('ERR_ECHOLOT_BIND', `cannot bind udp ${endpoint}: ${reason}`, { cause: err });
}
