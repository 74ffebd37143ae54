/**
 * Whose target is it? echolot floods only servers the user owns: the loops it makes itself (the
 * embedded reference server, any 127/8 or ::1 address) count as owned; any other address only when
 * the user says so (`--i-own-the-target`, `ownTarget` in the library). A test host (198.18.0.0/15,
 * 2001:2::/48) is owned only by the run that made it, which says so the same way: the interop
 * matrix passes `--i-own-the-target` for the test hosts it makes (harness/matrix/start-target.ts).
 */
import { isLoopback } from '../core/address.js';
import type { Target } from './acquire.js';

/** True when `target` may be flooded: embedded, loopback (127/8, ::1), or owned by the user's word. */
export function ownsTarget(target: Pick<Target, 'address' | 'embedded'>, ownTarget: boolean): boolean {
  return ownTarget || target.embedded || isLoopback(target.address);
}
