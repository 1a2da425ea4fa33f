/**
 * The lowering of depthwise convolutions onto onnxruntime's blocked-layout CPU kernels: which convs it
 * takes, and that the lowered graph computes what the plain one does (onnxruntime, float32).
 */
import { describe, expect, it } from 'vitest';
import { Graph, type Value } from '../../src/graph/graph.js';
import { blockedChannels, lowerDepthwiseConvs, NCHWC_DOMAIN } from '../../src/graph/nchwc.js';
import { serializeModel } from '../../src/graph/onnx.js';
import * as op from '../../src/graph/ops.js';
import { createSession } from '../../src/runtime/session.js';
import { normalRandom } from '../helpers/gradcheck.js';

/** x (2, C, 7, 6) through a depthwise conv with a fed weight and bias, then a dense one. */
function build(C: number, k: number, stride: number): { g: Graph; x: Value } {
  const g = new Graph('fp32', { batch: 2, nchwc: true });
  const x = g.fixedInput('x', [2, C, 7, 6]);
  const w = g.fixedInput('w', [C, 1, k, k]);
  const b = g.fixedInput('b', [C]);
  const dw = op.conv(g, x, w, b, { stride, pad: (k - 1) / 2, groups: C });
  const dense = g.fixedInput('dense', [4, C, 1, 1]);
  g.output(dw, 'dw');
  g.output(op.conv(g, dw, dense, null, {}), 'y');
  return { g, x };
}

async function run(g: Graph, C: number, k: number): Promise<Record<string, Float32Array>> {
  const rnd = normalRandom(3);
  const fill = (shape: number[]) => ({ shape, data: Float32Array.from({ length: shape.reduce((a, d) => a * d, 1) }, rnd) });
  const s = await createSession(
    serializeModel(g, () => new Float32Array()),
    { threads: 1 },
  );
  try {
    const out = await s.run({ x: fill([2, C, 7, 6]), w: fill([C, 1, k, k]), b: fill([C]), dense: fill([4, C, 1, 1]) });
    return Object.fromEntries(Object.entries(out).map(([name, t]) => [name, t.data]));
  } finally {
    await s.release();
  }
}

describe('lowerDepthwiseConvs', () => {
  it('takes depthwise convs with computed weights and a channel count the blocks divide, and nothing else', () => {
    expect([8, 16, 24, 32, 96].map(blockedChannels)).toEqual([false, true, false, true, true]);
    const { g } = build(32, 3, 1);
    const lowered = lowerDepthwiseConvs(g);
    expect(lowered.size).toBe(1);
    const [[, added]] = [...lowered];
    expect(added.map((n) => `${n.domain === NCHWC_DOMAIN ? 'nchwc.' : ''}${n.op}`)).toEqual([
      'nchwc.ReorderInput',
      'Reshape',
      'nchwc.ReorderInput',
      'Reshape',
      'nchwc.Conv',
      'nchwc.ReorderOutput',
    ]);
    // the dense conv stays, and so do depthwise convs whose channels the blocks do not divide or
    // whose weights are constants (onnxruntime lowers those itself)
    expect(g.nodes.filter((n) => n.op === 'Conv' && n.domain === '')).toHaveLength(1);
    expect(lowerDepthwiseConvs(build(24, 3, 1).g).size).toBe(0);
    const c = new Graph('fp32', { batch: 1, nchwc: true });
    const w = c.constant('w', [16, 1, 3, 3], new Float32Array(144));
    c.output(op.conv(c, c.fixedInput('x', [1, 16, 4, 4]), w, null, { pad: 1, groups: 16 }), 'y');
    expect(lowerDepthwiseConvs(c).size).toBe(0);
  });

  for (const [C, k, stride] of [
    [16, 3, 1],
    [32, 5, 1],
    [48, 3, 2],
  ]) {
    it(`computes what the plain conv computes (C ${C}, kernel ${k}, stride ${stride})`, async () => {
      const plain = await run(build(C, k, stride).g, C, k);
      const { g } = build(C, k, stride);
      lowerDepthwiseConvs(g);
      const lowered = await run(g, C, k);
      for (const name of ['dw', 'y']) {
        const diff = plain[name].reduce((m, v, i) => Math.max(m, Math.abs(v - lowered[name][i])), 0);
        const size = plain[name].reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        console.log(
          `[nchwc] C ${C} k ${k} stride ${stride} ${name}: max difference ${diff.toExponential(2)} (max |value| ${size.toFixed(1)})`,
        );
        expect(diff / size).toBeLessThan(1e-6);
      }
    });
  }
});
