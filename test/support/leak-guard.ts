/**
 * Root hook: once every test has run, a process that is still kept alive by a socket, timer or child
 * is a leak. Mocha would wait for it forever; this names what is open and fails the run instead.
 */
const GRACE_MS = 10_000;

/** Mocha root hooks (loaded with --require from .mocharc.json). */
export const mochaHooks = {
  afterAll(): void {
    setTimeout(() => {
      const handles =
        (process as unknown as { _getActiveHandles?: () => object[] })._getActiveHandles?.() ?? [];
      const names = handles.map((h) => h.constructor.name).join(', ');
      process.stderr.write(
        `test run: still alive ${GRACE_MS / 1000} s after the last test; open: ${names}\n`,
      );
      process.exit(1);
    }, GRACE_MS).unref();
  },
};
