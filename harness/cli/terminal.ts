import { appendFile } from 'node:fs/promises';
import { HarnessError } from '../errors.js';

/**
 * Whether to write ANSI colour to `stream`: never when NO_COLOR is set to anything non-empty
 * (no-color.org), always when FORCE_COLOR is set and not 0/false, otherwise only on a TTY.
 */
export function colorEnabled(
  stream: { readonly isTTY?: boolean },
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  if ((env['NO_COLOR'] ?? '') !== '') return false;
  const force = env['FORCE_COLOR'];
  if (force !== undefined && force !== '0' && force.toLowerCase() !== 'false') return true;
  return stream.isTTY === true;
}

/** Whether this process runs as a GitHub Actions step (annotations are understood). */
export const inGithubActions = (env: NodeJS.ProcessEnv = process.env): boolean =>
  env['GITHUB_ACTIONS'] === 'true';

/** Appends Markdown to $GITHUB_STEP_SUMMARY when it is set; the job page shows it. */
export async function appendStepSummary(
  markdown: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  const file = env['GITHUB_STEP_SUMMARY'];
  if (file === undefined || file === '') return;
  await appendFile(file, markdown).catch((err: unknown) => {
    throw new HarnessError('ERR_ECHOLOT_IO', `GITHUB_STEP_SUMMARY ${file}: cannot append the summary`, {
      cause: err,
    });
  });
}
