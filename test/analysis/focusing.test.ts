import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dot, fp } from '../../src/analysis/focusing.js';

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
});
