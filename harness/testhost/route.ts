import { readFile } from 'node:fs/promises';
import { ip } from './netns.js';

/** The interface the kernel routes `address` through and its MTU. */
export interface RouteMtu {
  readonly device: string;
  readonly mtu: number;
}

/** Asks the kernel (`ip route get`) which interface reaches `address` and reads its MTU; undefined when it cannot tell. */
export async function routeMtu(address: string): Promise<RouteMtu | undefined> {
  try {
    const [bare = address, zone] = address.split('%');
    const out = await ip(['route', 'get', bare, ...(zone ? ['oif', zone] : [])]);
    const device = /\bdev (\S+)/.exec(out)?.[1];
    if (!device) return undefined;
    // A route may carry its own (smaller) mtu; the link MTU is the fallback.
    const routeMtuValue = /\bmtu (?:lock )?(\d+)/.exec(out)?.[1];
    const linkMtu = Number((await readFile(`/sys/class/net/${device}/mtu`, 'utf8')).trim());
    const mtu = routeMtuValue ? Math.min(Number(routeMtuValue), linkMtu) : linkMtu;
    return Number.isFinite(mtu) && mtu > 0 ? { device, mtu } : undefined;
  } catch {
    return undefined;
  }
}
