/** Skips the current test (or, from a beforeEach hook, the test about to run) and says why in its title. */
export function skipBecause(ctx: Mocha.Context, reason: string): never {
  const test = ctx.currentTest ?? ctx.test;
  if (test !== undefined) test.title += ` (skipped: ${reason})`;
  ctx.skip();
}
