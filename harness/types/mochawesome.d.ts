declare module 'mochawesome/addContext.js' {
  /** Attaches a titled value to the current test in the mochawesome report. */
  export default function addContext(
    test: Mocha.Context,
    context: string | { title: string; value: unknown },
  ): void;
}

declare module 'mochawesome' {
  /** The mochawesome reporter: collects a run into one JSON document (its `output`) as mocha reports it. */
  export default class Mochawesome {
    constructor(runner: Mocha.Runner, options: Mocha.MochaOptions);
    /** The report document, set when the run ends. */
    output: unknown;
    /** Called by mocha after the run; mochawesome writes its files here. */
    done?: (failures: number, exit?: (failures: number) => void) => void;
  }
}

declare module 'mochawesome-report-generator' {
  /** Options of the report generator (the subset echolot sets). */
  export interface MargeOptions {
    readonly reportDir: string;
    readonly reportFilename: string;
    readonly reportTitle: string;
    readonly reportPageTitle: string;
    readonly inline: boolean;
    readonly charts: boolean;
    readonly showHooks: string;
    readonly saveJson: boolean;
    readonly saveHtml: boolean;
    readonly overwrite: boolean;
    readonly timestamp: boolean;
  }
  /** The report generator: `create` writes the HTML and JSON files of a report document and resolves to their paths. */
  const marge: {
    create(data: unknown, options: MargeOptions): Promise<[string | null, string | null]>;
  };
  export default marge;
}
