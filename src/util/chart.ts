/**
 * Vega-Lite charts as SVG text, rendered by Vega without a browser's DOM (in Node and in a page
 * alike). Vega is loaded only when a chart is drawn: its module graph has top-level await, which
 * would keep CommonJS code from requiring flatten-vit.
 */
import type { TopLevelSpec } from 'vega-lite';

/**
 * Renders a Vega-Lite spec to SVG text.
 *
 * @example
 * ```ts
 * const svg = await chartSvg({ data: { values: [{ x: 1, y: 2 }] }, mark: 'point', encoding: { x: { field: 'x', type: 'quantitative' } } });
 * ```
 */
export async function chartSvg(spec: TopLevelSpec): Promise<string> {
  const [vega, { compile }] = await Promise.all([import('vega'), import('vega-lite')]);
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
