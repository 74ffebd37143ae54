import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { HarnessError } from '../errors.js';
import type { Family } from '../protocol/constants.js';

/** A target as parsed from `HOST:PORT`, `[IPV6]:PORT` or `HOSTNAME:PORT`, before name resolution. */
export interface TargetInput {
  readonly input: string;
  readonly host: string;
  readonly port: number;
}

/** A resolved target: the address the catalogue sends to. */
export interface ResolvedTarget extends TargetInput {
  readonly address: string;
  readonly family: Family;
}

const RESOLVE_TIMEOUT_MS = 4000;

/** Parses `HOST:PORT`, `[IPV6]:PORT` or `HOSTNAME:PORT`; throws a usage error naming the value and the rule. */
export function parseTarget(input: string): TargetInput {
  const text = input.trim();
  const bracketed = /^\[([^\]]+)\]:(.*)$/.exec(text);
  let host: string;
  let portText: string;
  if (bracketed) {
    host = bracketed[1] ?? '';
    portText = bracketed[2] ?? '';
    if (isIP(host.split('%')[0] ?? '') !== 6) {
      throw new HarnessError('ERR_ECHOLOT_USAGE', `target ${input}: [${host}] is not an IPv6 address`);
    }
  } else {
    const colon = text.lastIndexOf(':');
    if (colon <= 0) {
      throw new HarnessError(
        'ERR_ECHOLOT_USAGE',
        `target ${input}: must be HOST:PORT, [IPV6]:PORT or HOSTNAME:PORT`,
      );
    }
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(':')) {
      throw new HarnessError('ERR_ECHOLOT_USAGE', `target ${input}: ${bracketsHint(text)}`);
    }
    if (!/^[A-Za-z0-9._-]+$/.test(host)) {
      throw new HarnessError(
        'ERR_ECHOLOT_USAGE',
        `target ${input}: host '${host}' is not an IP address or host name`,
      );
    }
  }
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 1 && port <= 65535)) {
    throw new HarnessError(
      'ERR_ECHOLOT_USAGE',
      `target ${input}: port must be an integer in 1..65535, got '${portText}'`,
    );
  }
  return { input, host, port };
}

/**
 * How to write an IPv6 target that came without brackets, as valid targets: the whole text as the
 * address (`2001:db8::10` -> `[2001:db8::10]:7`), and, when its last group can be a port, the text
 * before it with that port (`::1:7` -> `[::1:7]:7`, or `[::1]:7` if 7 is the port).
 */
export function bracketsHint(text: string): string {
  const isV6 = (s: string): boolean => isIP(s.split('%')[0] ?? '') === 6;
  const colon = text.lastIndexOf(':');
  const host = text.slice(0, colon);
  const port = text.slice(colon + 1);
  const portToo = isV6(host) && /^\d{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65535;
  const whole = isV6(text) ? `[${text}]:7` : undefined;
  const split = portToo ? `[${host}]:${port}` : undefined;
  const examples =
    whole !== undefined && split !== undefined
      ? `e.g. ${whole}, or ${split} if ${port} is the port`
      : `e.g. ${whole ?? split ?? '[2001:db8::1]:7'}`;
  return `write an IPv6 address in brackets, ${examples}`;
}

/** Resolves the host to one address (the first the resolver returns); an unknown name is ERR_ECHOLOT_RESOLVE. */
export async function resolveTarget(target: TargetInput): Promise<ResolvedTarget> {
  const literal = isIP(target.host.split('%')[0] ?? '');
  if (literal !== 0) {
    return { ...target, address: target.host, family: literal === 4 ? 'IPv4' : 'IPv6' };
  }
  let timer: NodeJS.Timeout | undefined;
  try {
    const result = await Promise.race([
      lookup(target.host, { verbatim: true }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${RESOLVE_TIMEOUT_MS} ms`)),
          RESOLVE_TIMEOUT_MS,
        );
      }),
    ]);
    return { ...target, address: result.address, family: result.family === 6 ? 'IPv6' : 'IPv4' };
  } catch (err) {
    const why = err instanceof Error ? err.message.replace(/^getaddrinfo /, '') : String(err);
    throw new HarnessError('ERR_ECHOLOT_RESOLVE', `cannot resolve host '${target.host}' (${why})`, {
      cause: err,
    });
  } finally {
    clearTimeout(timer);
  }
}
