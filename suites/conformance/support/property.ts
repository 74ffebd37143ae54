import fc from 'fast-check';
import type { CaseContext } from '../../../harness/conformance/context.js';
import { formatEndpoint } from '../../../harness/core/address.js';

/** A payload property over (size, seed); every case draws sizes and byte seeds the same way. */
export type PayloadProperty = fc.IAsyncPropertyWithHooks<[number, number]>;

/**
 * Runs a payload property with the run's seed, path and run count, trying `examples` first so the
 * extremes are covered whatever the seed, and returns fast-check's details.
 */
export function checkProperty(
  ctx: CaseContext,
  property: PayloadProperty,
  options: { readonly numRuns: number; readonly examples: [number, number][]; readonly timeLimitMs: number },
): Promise<fc.RunDetails<[number, number]>> {
  return fc.check(property, {
    seed: ctx.options.seed,
    numRuns: options.numRuns,
    ...(ctx.options.path === undefined ? {} : { path: ctx.options.path }),
    examples: options.examples,
    interruptAfterTimeLimit: options.timeLimitMs,
    markInterruptAsFailure: false,
  });
}

/** The evidence every property case records: seed, path, counts, the replay command and the counterexample. */
export function propertyEvidence(
  ctx: CaseContext,
  id: string,
  details: fc.RunDetails<[number, number]>,
): Record<string, unknown> {
  const target = formatEndpoint(ctx.target.host, ctx.target.port);
  const replay = `echolot check ${ctx.target.embedded ? '' : `${target} `}--only ${id} --seed ${details.seed}${
    details.counterexamplePath ? ` --path ${details.counterexamplePath}` : ''
  }`;
  return {
    seed: details.seed,
    path: details.counterexamplePath,
    numRuns: details.numRuns,
    numShrinks: details.numShrinks,
    interrupted: details.interrupted,
    replay,
    ...(details.failed && details.counterexample
      ? { counterexample: { size: details.counterexample[0], seed: details.counterexample[1] } }
      : {}),
  };
}
