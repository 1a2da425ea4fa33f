import { describe, expect, it } from 'vitest';
import { Graph } from '../../src/graph/graph.js';
import { gelu, layerNorm, linear } from '../../src/graph/layers.js';
import { serializeModel } from '../../src/graph/onnx.js';
import * as op from '../../src/graph/ops.js';
import { createSession } from '../../src/runtime/session.js';

describe('ONNX graphs', () => {
  it('serialize, load in onnxruntime and compute what the builder meant, for any batch', async () => {
    const g = new Graph();
    const x = g.input('x', [1, 2, 3]);
    const y = g.within('block', 'blocks.0', () => gelu(g, layerNorm(g, linear(g, x, 'fc', 3, 4), 'norm', 4, 1e-5)));
    g.output(op.reshape(g, op.transpose(g, y, [0, 2, 1]), [-1, 8]), 'out');
    expect(g.shape(y)).toEqual([1, 2, 4]);
    expect([...g.params.keys()]).toEqual(['block.fc.weight', 'block.fc.bias', 'block.norm.weight', 'block.norm.bias']);
    expect(g.params.get('block.fc.weight')!.official).toBe('blocks.0.fc.weight');

    const W = new Float32Array([1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1]); // (4, 3)
    const weights: Record<string, Float32Array> = {
      'block.fc.weight': W,
      'block.fc.bias': new Float32Array([0, 1, 2, 3]),
      'block.norm.weight': new Float32Array([1, 1, 1, 1]),
      'block.norm.bias': new Float32Array([0, 0, 0, 0]),
    };
    const bytes = serializeModel(g, (n) => weights[n]);
    const s = await createSession(bytes, { threads: 1 });
    const input = new Float32Array([1, 2, 3, 4, 5, 6, 0, 0, 0, 1, 1, 1]);
    const out = await s.run({ x: { shape: [2, 2, 3], data: input } });
    await s.release();
    expect(out.out.shape).toEqual([2, 8]);

    const expected: number[][] = [];
    for (let t = 0; t < 4; t++) {
      const row = input.slice(t * 3, t * 3 + 3);
      const h = [0, 1, 2, 3].map((o) => row[0] * W[o * 3] + row[1] * W[o * 3 + 1] + row[2] * W[o * 3 + 2] + weights['block.fc.bias'][o]);
      const mean = h.reduce((a, b) => a + b) / 4;
      const v = h.reduce((a, b) => a + (b - mean) ** 2, 0) / 4;
      const n = h.map((z) => (z - mean) / Math.sqrt(v + 1e-5));
      expected.push(n.map((z) => 0.5 * z * (1 + erf(z / Math.SQRT2))));
    }
    for (let b = 0; b < 2; b++)
      for (let c = 0; c < 4; c++)
        for (let t = 0; t < 2; t++) expect(out.out.data[b * 8 + c * 2 + t]).toBeCloseTo(expected[b * 2 + t][c], 5);
  });

  it('fails while building when shapes do not fit', () => {
    const g = new Graph();
    const x = g.input('x', [1, 6]);
    expect(() => op.reshape(g, x, [-1, 4])).toThrow(/cannot reshape \(1,6\) to \(-1,4\)/);
    expect(() => op.matmul(g, x, g.constant('w', [5, 2], new Float32Array(10)))).toThrow(/inner dimensions differ/);
  });
});

function erf(x: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return x >= 0 ? y : -y;
}
