/** The files of an interop matrix: matrix.json, matrix.md, matrix.html and index.html (the page to open). */
import type { MatrixResult } from '../results/matrix-result.js';
import { renderMatrixHtml, renderMatrixJson, renderMatrixMarkdown } from '../reporters/matrix.js';
import { loadChartAssets } from '../reporters/html-assets.js';
import { renderIndexHtml, type MatrixSection } from '../reporters/html-report.js';
import type { Report } from './write.js';

/** What `echolot matrix` writes next to the per-server reports, given the page's matrix section. */
export async function matrixReport(result: MatrixResult): Promise<Report> {
  const section = matrixSection(result);
  const links = ['matrix.html', 'matrix.md', 'matrix.json'].map((f) => ({ label: f, href: f }));
  return {
    runId: result.runId,
    files: [
      { name: 'matrix.json', content: renderMatrixJson(result) },
      { name: 'matrix.md', content: renderMatrixMarkdown(result) },
      { name: 'matrix.html', content: renderMatrixHtml(result) },
      { name: 'index.html', content: renderIndexHtml({ matrix: section, links }, await loadChartAssets()) },
    ],
  };
}

/** The matrix as the HTML report shows it: each cell linked to the case's row in that server's report. */
export function matrixSection(result: MatrixResult): MatrixSection {
  const checked = result.columns.filter((c) => c.reportDir !== undefined);
  return {
    columns: result.columns.map((c) => ({
      id: c.name,
      label: c.name,
      ...(c.reportDir === undefined ? {} : { href: `${c.reportDir}/index.html` }),
    })),
    rows: result.cases.map((k) => ({
      id: k.id,
      title: k.title,
      cells: Object.fromEntries(
        checked.flatMap((c) => {
          const cell = c.cells[k.id];
          return cell === undefined
            ? []
            : [
                [
                  c.name,
                  {
                    verdict: cell.verdict,
                    message: cell.message,
                    href: `${c.reportDir}/index.html#case-${k.id}`,
                  },
                ],
              ];
        }),
      ),
    })),
  };
}
