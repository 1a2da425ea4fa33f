/**
 * Writing the analyses' figures: SVG (the default; text in the viewer's own fonts) or PNG, rendered
 * from the same SVG by resvg with the system's fonts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { chartSvg } from '../util/chart.js';

/** The file format of a figure. */
export type FigureFormat = 'svg' | 'png';

/** A sans-serif family the system has: Vega's `sans-serif` resolves to it in PNGs. */
const SANS = process.platform === 'linux' ? 'DejaVu Sans' : 'Arial';

/** An SVG as PNG bytes at twice its size, its text in the system's fonts. */
async function svgToPng(svg: string): Promise<Uint8Array> {
  const { Resvg } = await import('@resvg/resvg-js');
  const png = new Resvg(svg, {
    font: { loadSystemFonts: true, defaultFontFamily: SANS, sansSerifFamily: SANS },
    fitTo: { mode: 'zoom', value: 2 },
  });
  return png.render().asPng();
}

/**
 * Renders a Vega-Lite spec into `dir/name.svg` (or `.png`) and returns the file's path.
 *
 * @example
 * ```ts
 * const file = await writeFigure('figures', 'fp', focusingChart(), 'svg'); // figures/fp.svg
 * ```
 */
export async function writeFigure(dir: string, name: string, spec: TopLevelSpec, format: FigureFormat): Promise<string> {
  const svg = await chartSvg(spec);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.${format}`);
  writeFileSync(file, format === 'svg' ? svg : await svgToPng(svg));
  return file;
}
