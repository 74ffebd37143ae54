import { randomBytes } from 'node:crypto';

/** A run ID that sorts by time and is unique: 2026-11-23T20-15-00Z-3fa9c1. */
export function newRunId(now: Date = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/:/g, '-');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}
