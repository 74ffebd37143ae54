import { readFileSync } from 'node:fs';

/** echolot's version, read once from package.json (dist/harness/version.js -> ../../package.json). */
export const ECHOLOT_VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
