/**
 * The analyses' figures (src/analysis/charts.ts through report.ts): Vega-Lite charts with axes,
 * titles and colour legends, as SVG and PNG.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { analyzeRank, drawFocusingFunction, focusMaps } from '../../src/analysis/report.js';
import { fixture } from '../helpers/fixtures.js';

describe("the analyses' figures", () => {
  it('draws the focusing function with axes, panel titles and a legend, as SVG or PNG', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flatten-figures-'));
    const svg = readFileSync(await drawFocusingFunction(dir), 'utf8');
    for (const text of ['p = 1', 'p = 10', 'x₁', 'x₂', 'f_p(x)', 'The focusing function']) expect(svg).toContain(`>${text}`);
    expect(svg.match(/<line /g)?.length ?? 0).toBeGreaterThan(5 * 14);
    const png = PNG.sync.read(readFileSync(await drawFocusingFunction(dir, 'png')));
    expect(png.width).toBeGreaterThan(1500);
    // text in a real font is drawn: dark, anti-aliased pixels of several grey levels
    const greys = new Set<number>();
    for (let i = 0; i < png.data.length; i += 4)
      if (png.data[i] === png.data[i + 1] && png.data[i] === png.data[i + 2] && png.data[i] < 200) greys.add(png.data[i]);
    expect(greys.size).toBeGreaterThan(20);
  });

  it('draws the rank figure: four heat maps over token axes, titled with their ranks, and a colour legend', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flatten-figures-'));
    const report = await analyzeRank(
      { arch: fixture('swin_mini', 'config.json'), checkpoint: fixture('swin_mini', 'checkpoint.pth') },
      { image: fixture('images', 'chelsea.png') },
      { stage: 1, block: 1, head: 0, window: 5 },
      { outDir: dir, caption: 'the fixture swin_mini' },
    );
    const svg = readFileSync(report.figure!, 'utf8');
    for (const [kind, rank] of Object.entries(report.ranks)) {
      const title = kind === 'focused_dwc' ? 'focused + DWC' : kind;
      expect(svg).toContain(`${title}: rank ${rank}/${report.tokens}`);
    }
    expect(svg.match(/<image /g)).toHaveLength(4);
    expect(svg.match(/data:image\/png;base64,/g)).toHaveLength(4);
    for (const text of ['key token', 'query token', 'attention', 'the fixture swin_mini']) expect(svg).toContain(text);
    expect(svg).toMatch(/linearGradient/); // the colour legend
  });

  it('draws the focus maps as PNG overlays and a figure of them all with the colour scale', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flatten-figures-'));
    const files = await focusMaps(
      { arch: fixture('pvt_mini', 'config.json'), checkpoint: fixture('pvt_mini', 'checkpoint.pth') },
      fixture('images', 'chelsea.png'),
      { stage: 1, block: 0, head: 0 },
      { queries: 2, outDir: dir },
    );
    expect(files).toHaveLength(2 * 5 + 1);
    const overlay = PNG.sync.read(readFileSync(files[1]));
    expect([overlay.width, overlay.height]).toEqual([64, 64]);
    const colours = new Set<number>();
    for (let i = 0; i < overlay.data.length; i += 4)
      colours.add((overlay.data[i] << 16) | (overlay.data[i + 1] << 8) | overlay.data[i + 2]);
    expect(colours.size).toBeGreaterThan(100);
    const svg = readFileSync(files[files.length - 1], 'utf8');
    expect(files[files.length - 1]).toMatch(/focus\.svg$/);
    expect(svg.match(/<image /g)).toHaveLength(2 * 5);
    for (const text of ['query', 'softmax', 'focused + DWC', 'attention weight', 'Where a query token attends'])
      expect(svg).toContain(text);
    expect(svg).toMatch(/linearGradient/);
  });
});
