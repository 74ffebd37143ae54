import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The chart library inlined into every HTML report (uPlot, MIT licence), read from node_modules. */
export interface ChartAssets {
  readonly name: string;
  readonly version: string;
  readonly license: string;
  /** The IIFE build, defining the global `uPlot`. */
  readonly script: string;
  readonly css: string;
}

let cached: Promise<ChartAssets> | undefined;

/** Reads uPlot's browser build and stylesheet once per process (the report must open with no network). */
export function loadChartAssets(): Promise<ChartAssets> {
  cached ??= (async () => {
    const require = createRequire(import.meta.url);
    const pkgFile = require.resolve('uplot/package.json');
    const dist = join(dirname(pkgFile), 'dist');
    const pkg = JSON.parse(await readFile(pkgFile, 'utf8')) as { version: string; license: string };
    const [script, css] = await Promise.all([
      readFile(join(dist, 'uPlot.iife.min.js'), 'utf8'),
      readFile(join(dist, 'uPlot.min.css'), 'utf8'),
    ]);
    return { name: 'uPlot', version: pkg.version, license: pkg.license, script, css };
  })();
  return cached;
}
