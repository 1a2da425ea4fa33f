import { describe, expect, it } from 'vitest';
import { linearInterpolation, softplus } from '../../../src/models/attention/focused_linear.js';

describe('focused linear attention helpers', () => {
  it('softplus follows PyTorch, including its threshold of 20', () => {
    expect(softplus(0)).toBe(Math.fround(Math.log(2)));
    expect(softplus(25)).toBe(25);
    expect(softplus(-30)).toBeCloseTo(Math.exp(-30), 20);
  });

  it('linear interpolation matches align_corners=False sampling', () => {
    const { i0, i1, w0, w1 } = linearInterpolation(2, 4);
    // PyTorch: interpolate([a, b], size=4, mode='linear') = [a, 0.75a+0.25b, 0.25a+0.75b, b]; the last
    // sample is clamped to b through two weights on the same index
    expect(i0).toEqual([0, 0, 0, 1]);
    expect(i1).toEqual([1, 1, 1, 1]);
    expect(Array.from(w0)).toEqual([1, 0.75, 0.25, 0.75]);
    expect(Array.from(w1)).toEqual([0, 0.25, 0.75, 0.25]);
    const same = linearInterpolation(5, 5);
    expect(same.i0).toEqual([0, 1, 2, 3, 4]);
    expect(Array.from(same.w1)).toEqual([0, 0, 0, 0, 0]);
  });
});
