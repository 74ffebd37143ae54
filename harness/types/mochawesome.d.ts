declare module 'mochawesome/addContext.js' {
  /** Attaches a titled value to the current test in the mochawesome report. */
  export default function addContext(
    test: Mocha.Context,
    context: string | { title: string; value: unknown },
  ): void;
}
