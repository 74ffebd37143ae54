import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** The Debian chromium package's binary (installed by .ci/run). */
export const CHROMIUM = '/usr/bin/chromium';

/** Why the browser tests cannot run here, or undefined when they can. */
export const chromiumMissing = (): string | undefined =>
  existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is missing (apt-get install chromium chromium-driver)`;

/** A headless Chromium with a fresh profile that is removed on close; no network beyond the page. */
export interface HeadlessBrowser {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/** Launches the system Chromium headless, sandbox off (CI runs as root), no background traffic. */
export async function launchChromium(): Promise<HeadlessBrowser> {
  // A fresh --user-data-dir: playwright takes it as the persistent context's directory.
  const profile = mkdtempSync(join(tmpdir(), 'echolot-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      timeout: 30_000,
      viewport: { width: 1280, height: 900 },
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    return {
      context,
      async close() {
        try {
          await context.close();
        } finally {
          rmSync(profile, { recursive: true, force: true });
        }
      },
    };
  } catch (err) {
    rmSync(profile, { recursive: true, force: true });
    throw err;
  }
}

/** What the page must show. */
export interface PageExpectations {
  /** Case IDs of the case table, in order (from summary.json). */
  readonly cases?: readonly string[];
  /** Chart ids that must be drawn with data. */
  readonly charts?: readonly string[];
}

/** What the checker found on the page. */
export interface PageFindings {
  readonly caseRows: number;
  readonly charts: Readonly<Record<string, { points: number; inkPixels: number }>>;
  readonly requests: readonly string[];
}

/**
 * Opens index.html from disk and checks that it rendered: the script ran, no page errors, no
 * request left file://, the case table has exactly the expected cases, and every expected chart
 * was drawn by uPlot with data points and ink on its canvas. Throws one Error naming every problem.
 */
export async function checkReportPage(
  page: Page,
  indexHtml: string,
  expected: PageExpectations,
): Promise<PageFindings> {
  const problems: string[] = [];
  const requests: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  await page.goto(pathToFileURL(indexHtml).href, { waitUntil: 'load', timeout: 20_000 });
  await page
    .waitForSelector('body[data-ready="true"]', { timeout: 10_000 })
    .catch(() => problems.push('the page script did not finish (body[data-ready] missing)'));

  const caseIds = await page.$$eval('tr.case', (rows) =>
    rows.map((r) => r.getAttribute('data-case-id') ?? ''),
  );
  if (expected.cases !== undefined) {
    const want = expected.cases;
    if (caseIds.length !== want.length) {
      problems.push(`case table has ${caseIds.length} rows, summary.json has ${want.length} cases`);
    }
    const missing = want.filter((id) => !caseIds.includes(id));
    if (missing.length > 0) problems.push(`cases missing from the table: ${missing.join(', ')}`);
  }

  const charts: Record<string, { points: number; inkPixels: number }> = {};
  for (const id of expected.charts ?? []) {
    const found = await page.evaluate((chartId) => {
      // The test project has no DOM lib: describe the little of the page this function touches.
      interface Canvas {
        width: number;
        height: number;
        getContext(kind: '2d'): {
          getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> };
        } | null;
      }
      const g = globalThis as unknown as {
        echolotCharts?: Record<string, { points: number; rendered: boolean; error: string | null }>;
        document: { querySelector(s: string): { querySelector(s: string): Canvas | null } | null };
      };
      const rec = g.echolotCharts?.[chartId];
      const fig = g.document.querySelector(`[data-chart="${chartId}"]`);
      // uPlot draws series on its main canvas; count pixels with any ink.
      const canvas = fig?.querySelector('canvas');
      let ink = 0;
      if (canvas && canvas.width > 0 && canvas.height > 0) {
        const ctx = canvas.getContext('2d');
        const img = ctx?.getImageData(0, 0, canvas.width, canvas.height).data;
        if (img) for (let i = 3; i < img.length; i += 4) if ((img[i] ?? 0) > 0) ink++;
      }
      return {
        figure: fig !== null,
        rendered: rec?.rendered ?? false,
        error: rec?.error ?? null,
        points: rec?.points ?? 0,
        canvas: canvas ? { width: canvas.width, height: canvas.height } : null,
        ink,
      };
    }, id);
    charts[id] = { points: found.points, inkPixels: found.ink };
    if (!found.figure) problems.push(`chart ${id}: not on the page`);
    else if (!found.rendered)
      problems.push(`chart ${id}: not drawn${found.error ? ` (${found.error})` : ''}`);
    else if (found.points === 0) problems.push(`chart ${id}: empty (no data points)`);
    else if (!found.canvas || found.canvas.width === 0 || found.canvas.height === 0) {
      problems.push(`chart ${id}: no canvas`);
    } else if (found.ink === 0) problems.push(`chart ${id}: the canvas is blank`);
  }
  const remote = requests.filter((u) => !u.startsWith('file:') && !u.startsWith('data:'));
  if (remote.length > 0) problems.push(`requests beyond the file: ${remote.join(', ')}`);
  if (problems.length > 0) throw new Error(`report page ${indexHtml}:\n  ${problems.join('\n  ')}`);
  return { caseRows: caseIds.length, charts, requests };
}
