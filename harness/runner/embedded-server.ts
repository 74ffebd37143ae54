import { startReferenceServer, type ReferenceServer } from '../../reference-server/index.js';
import { staticCapabilities } from './capabilities.js';

/** Addresses the embedded reference server serves: 127.0.0.1 (the target), two 127/8 aliases (case 4.3) and ::1. */
export const EMBEDDED_BIND_V4: readonly string[] = Object.freeze(['127.0.0.1', '127.0.0.2', '127.1.2.3']);

/** Starts the reference server in-process on one ephemeral port for a check of the embedded default. */
export async function startEmbeddedServer(): Promise<ReferenceServer> {
  const caps = staticCapabilities();
  const bind = caps.linux ? [...EMBEDDED_BIND_V4] : ['127.0.0.1'];
  if (caps.ipv6Loopback) bind.push('::1');
  return startReferenceServer({ port: 0, bind });
}
