/**
 * Before a run: can its output be written? A directory is created when missing and a probe file is
 * created in it and removed; a file needs an existing directory that takes new files. The answers are
 * quick and bounded. Recursive mkdir is not used, because it never returns where mkdir fails with
 * ENOENT below an existing directory (/proc, /sys): missing levels are created one at a time instead,
 * and the first failure is the answer.
 */
import { randomBytes } from 'node:crypto';
import { access, constants, mkdir, open, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { errnoOf } from '../errors.js';

/** Most missing directory levels created for one path: more is a mistake, not a layout. */
export const MAX_NEW_LEVELS = 16;

/**
 * Creates directory `dir` and its missing parents, one level at a time. Returns why it could not (one
 * clause naming the path that failed: `cannot create /proc/x (ENOENT: no such file or directory)`), or
 * undefined once the directory exists.
 */
export async function createDirectory(dir: string): Promise<string | undefined> {
  const target = resolve(dir);
  const missing: string[] = [];
  for (let path = target; ; path = dirname(path)) {
    try {
      if ((await stat(path)).isDirectory()) break;
      return `${path} is not a directory`;
    } catch (err) {
      if (errnoOf(err) !== 'ENOENT' || dirname(path) === path) return failed('cannot use', path, err);
    }
    if (missing.length === MAX_NEW_LEVELS) {
      return `cannot create ${target} (more than ${MAX_NEW_LEVELS} missing directory levels)`;
    }
    missing.unshift(path);
  }
  for (const level of missing) {
    try {
      await mkdir(level);
    } catch (err) {
      // Created meanwhile by someone else is as good, if it is a directory.
      if (errnoOf(err) !== 'EEXIST' || !(await isDirectory(level)))
        return failed('cannot create', level, err);
    }
  }
  return undefined;
}

/** Why files cannot be written into directory `dir` (created when missing), or undefined when they can. */
export async function directoryProblem(dir: string): Promise<string | undefined> {
  return (await createDirectory(dir)) ?? (await probeProblem(resolve(dir)));
}

/**
 * Why `file` cannot be written, or undefined when it can: its directory must exist and take new files
 * (a file is replaced through a temporary sibling and a rename), and the file itself, when it exists,
 * must be a regular file open for writing.
 */
export async function fileProblem(file: string): Promise<string | undefined> {
  const path = resolve(file);
  const dir = dirname(path);
  try {
    if (!(await stat(dir)).isDirectory()) return `${dir} is not a directory`;
  } catch (err) {
    return errnoOf(err) === 'ENOENT' ? `directory ${dir} does not exist` : failed('cannot use', dir, err);
  }
  try {
    if (!(await stat(path)).isFile()) return `${path} is not a regular file`;
    await access(path, constants.W_OK);
  } catch (err) {
    if (errnoOf(err) !== 'ENOENT') return failed('cannot write', path, err);
  }
  return probeProblem(dir);
}

/** Why no file can be created in existing directory `dir`: a probe file is created, then removed. */
async function probeProblem(dir: string): Promise<string | undefined> {
  const probe = join(dir, `.echolot-probe-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await (await open(probe, 'wx')).close();
  } catch (err) {
    return failed('cannot create files in', dir, err);
  }
  await unlink(probe).catch(() => undefined);
  return undefined;
}

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

/** `cannot create /proc/x (ENOENT: no such file or directory)`: the errno and its text, without Node's repeat of the call. */
function failed(what: string, path: string, err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return `${what} ${path} (${message.replace(/, \w+ '.*$/s, '')})`;
}
