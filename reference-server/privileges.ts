import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { HarnessError } from '../harness/errors.js';

/** A user account as the system's user database knows it. */
export interface UserAccount {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

/**
 * Looks a user up through NSS (getent, so LDAP/sssd users work too), falling back to /etc/passwd.
 * Throws a usage error naming the user when it does not exist.
 */
export function lookupUser(name: string): UserAccount {
  const line = getent(name) ?? passwdLine(name);
  const fields = line?.split(':');
  const uid = Number(fields?.[2]);
  const gid = Number(fields?.[3]);
  if (fields === undefined || !Number.isInteger(uid) || !Number.isInteger(gid)) {
    throw new HarnessError('ERR_ECHOLOT_USAGE', `--user ${name}: no such user`);
  }
  return { name: fields[0] ?? name, uid, gid };
}

/** Fails unless the process can change its identity; checked before binding so a mistake costs nothing. */
export function checkCanDropTo(name: string): UserAccount {
  const account = lookupUser(name);
  const uid = process.getuid?.();
  if (uid !== 0) {
    throw new HarnessError(
      'ERR_ECHOLOT_USAGE',
      `--user ${name}: only root can switch users (running as uid ${uid ?? 'unknown'}); ` +
        `start as root, or drop --user and use an unprivileged port or CAP_NET_BIND_SERVICE`,
    );
  }
  return account;
}

/**
 * Switches to `account` for good: supplementary groups first, then the group, then the user (the other
 * order would leave root's groups behind, or lose the right to change them). Then proves root is gone.
 */
export function dropPrivileges(account: UserAccount): void {
  try {
    // Missing from @types/node 20 though Node has it on POSIX.
    const posix = process as unknown as { initgroups?: (user: string, extraGroup: number) => void };
    posix.initgroups?.(account.name, account.gid);
    process.setgid?.(account.gid);
    process.setuid?.(account.uid);
  } catch (err) {
    throw new HarnessError(
      'ERR_ECHOLOT_INTERNAL',
      `--user ${account.name}: cannot switch to uid ${account.uid} gid ${account.gid}: ${String(err)}`,
      { cause: err },
    );
  }
  if (process.getuid?.() !== account.uid || process.geteuid?.() !== account.uid) {
    throw new HarnessError('ERR_ECHOLOT_INTERNAL', `--user ${account.name}: the uid did not change`);
  }
  if (account.uid !== 0) {
    let regained = false;
    try {
      process.setuid?.(0);
      regained = true;
    } catch {
      // Expected: an unprivileged process cannot become root again.
    }
    if (regained) {
      throw new HarnessError('ERR_ECHOLOT_INTERNAL', `--user ${account.name}: root could be regained`);
    }
  }
}

function getent(name: string): string | undefined {
  try {
    const out = execFileSync('getent', ['passwd', name], {
      encoding: 'utf8',
      timeout: 5000,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return out.split('\n')[0] || undefined;
  } catch {
    return undefined;
  }
}

function passwdLine(name: string): string | undefined {
  try {
    return readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .find((l) => l.split(':')[0] === name);
  } catch {
    return undefined;
  }
}
