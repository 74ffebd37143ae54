import type { NetworkInterfaceInfo } from 'node:os';

/** The shape of os.networkInterfaces(), injectable so re-scans can be tested without touching interfaces. */
export type InterfaceLister = () => NodeJS.Dict<NetworkInterfaceInfo[]>;

/**
 * Every bindable address of every interface, as bind strings: link-local IPv6 gets `%iface` because
 * the same fe80:: address may exist on several links and the kernel needs the scope to bind it.
 */
export function localAddresses(list: InterfaceLister): string[] {
  const out: string[] = [];
  for (const [name, infos] of Object.entries(list())) {
    for (const info of infos ?? []) {
      const scoped = info.family === 'IPv6' && info.scopeid !== undefined && info.scopeid !== 0;
      const address = scoped ? `${info.address}%${name}` : info.address;
      if (!out.includes(address)) out.push(address);
    }
  }
  return out;
}
