/**
 * Preloaded into a CLI run (`node --import`, see `runCliLoopbackOnly`) by tests that give a
 * non-loopback target to be refused: any node:dgram connect or send towards an address that is not
 * loopback ends the process at once, with LOOPBACK_ONLY_EXIT, before the datagram is handed over.
 * With ECHOLOT_IO=dgram (which the helper sets) every socket of the run is a node:dgram socket, so
 * a guard that failed to refuse the target would end the run here instead of sending. Importing
 * this module patches node:dgram for the whole process: only a child process preloads it.
 */
import { Socket } from 'node:dgram';
import { LOOPBACK_ONLY_EXIT } from '../helpers/cli.js';

const isLoopbackAddress = (a: string): boolean => {
  const bare = a.toLowerCase().replace(/^::ffff:/, '');
  return bare.startsWith('127.') || bare === '::1' || bare === 'localhost';
};

/**
 * The address a call names: connect(port, address?, cb?); send(msg, [offset, length,] port,
 * address?, cb?), where the address is the string after the port. Undefined: none given (the
 * socket's connected peer, or node's default of loopback).
 */
function destination(method: 'send' | 'connect', args: readonly unknown[]): string | undefined {
  if (method === 'connect') return typeof args[1] === 'string' ? args[1] : undefined;
  for (let i = 1; i < args.length - 1; i++) {
    const next = args[i + 1];
    if (typeof args[i] === 'number' && typeof next === 'string') return next;
  }
  return undefined;
}

const proto = Socket.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
for (const method of ['send', 'connect'] as const) {
  const original = proto[method];
  if (!original) continue;
  proto[method] = function (this: Socket, ...args: unknown[]): unknown {
    const to = destination(method, args);
    if (to !== undefined && !isLoopbackAddress(to)) {
      process.stderr.write(
        `loopback-only: ${method} towards ${to} stopped: this test sends to loopback only\n`,
      );
      process.exit(LOOPBACK_ONLY_EXIT);
    }
    return original.apply(this, args);
  };
}
