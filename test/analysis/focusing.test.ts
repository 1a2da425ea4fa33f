import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { dot, drawFocusingFunction, fp } from '../../src/analysis/focusing.js';
import { focusMaps } from '../../src/analysis/report.js';
import { fixture } from '../helpers/fixtures.js';

const POWERS = Array.from({ length: 60 }, (_, i) => 1.25 ** (i + 1));

/**
 * Non-negative vectors whose largest entry stands out (the second largest at most 99% of it: a
 * near-tie needs an astronomically large p to separate), not parallel to each other.
 */
const pair = fc
  .integer({ min: 2, max: 8 })
  .chain((n) =>
    fc.tuple(
      fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: n, maxLength: n }),
      fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: n, maxLength: n }),
    ),
  )
  .filter(([x, y]) => {
    const unique = (v: number[]) => {
      const sorted = [...v].sort((a, b) => b - a);
      return sorted[0] > 1e-3 && sorted[1] <= 0.99 * sorted[0];
    };
    const cos = dot(x, y) / Math.sqrt(dot(x, x) * dot(y, y));
    return unique(x) && unique(y) && cos < 1 - 1e-9 && dot(x, y) > 1e-6;
  });

const argmax = (v: number[]) => v.indexOf(Math.max(...v));

describe('the focusing function (Proposition 1)', () => {
  it('keeps norms', () => {
    expect(Math.hypot(...fp([0.3, 0.4, 1.2], 3))).toBeCloseTo(Math.hypot(0.3, 0.4, 1.2), 12);
  });

  it('brings vectors with the same largest axis closer and pushes the others apart, for some p > 1 (1,000 random cases)', () => {
    fc.assert(
      fc.property(pair, ([x, y]) => {
        const before = dot(x, y);
        const same = argmax(x) === argmax(y);
        return POWERS.some((p) => (same ? dot(fp(x, p), fp(y, p)) > before : dot(fp(x, p), fp(y, p)) < before));
      }),
      { numRuns: 1000, seed: 2023 },
    );
  });

  it('draws the figure and the focus maps as readable PNGs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flatten-figures-'));
    const fig = PNG.sync.read(readFileSync(drawFocusingFunction(dir)));
    expect(fig.width).toBeGreaterThan(1000);
    const files = await focusMaps(
      { arch: fixture('pvt_mini', 'config.json'), checkpoint: fixture('pvt_mini', 'checkpoint.pth') },
      fixture('images', 'chelsea.png'),
      { stage: 1, block: 0, head: 0 },
      { queries: 2, outDir: dir },
    );
    expect(files).toHaveLength(2 * 5 + 1);
    const sheet = PNG.sync.read(readFileSync(files[files.length - 1]));
    expect([sheet.width, sheet.height]).toEqual([5 * (64 + 8) + 8, 2 * (64 + 8) + 8 + 28]);
    const colours = new Set<number>();
    for (let i = 0; i < sheet.data.length; i += 4) colours.add((sheet.data[i] << 16) | (sheet.data[i + 1] << 8) | sheet.data[i + 2]);
    expect(colours.size).toBeGreaterThan(100);
  });
});
