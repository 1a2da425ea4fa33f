/**
 * Every gradient rule against finite differences: one tiny graph per rule (several where the
 * operator has cases: broadcasting, weight products, strides, groups, permutations), loss
 * Σ y·R with a fixed random R, gradients from onnxruntime in float32, differences in float64.
 */
import { describe, expect, it } from 'vitest';
import { float, Graph, type Value } from '../../src/graph/graph.js';
import { GRADIENTS } from '../../src/graph/gradients.js';
import { lowerDepthwiseConvs } from '../../src/graph/nchwc.js';
import * as op from '../../src/graph/ops.js';
import { gradCheck, normalRandom } from '../helpers/gradcheck.js';

interface Case {
  /** Inputs: name → shape; `positive` inputs are drawn in [0.5, 1.5] (Log, Sqrt, Pow, Div). */
  inputs: Record<string, number[]>;
  positive?: string[];
  /**
   * Built for onnxruntime's CPU provider and lowered onto its blocked-layout kernels (graph/nchwc.ts):
   * how many convs the lowering takes.
   */
  nchwc?: number;
  build: (g: Graph, x: Record<string, Value>) => Value;
}

const conv = (g: Graph, x: Value, w: Value, b: Value | null, stride: number, pad: number, groups: number) =>
  op.conv(g, x, w, b, { stride, pad, groups });

const CASES: Record<string, Case[]> = {
  Identity: [{ inputs: { a: [2, 3] }, build: (g, x) => g.node('Identity', [x.a], {}, [[2, 3]])[0] }],
  Add: [{ inputs: { a: [2, 3, 4], b: [1, 3, 1] }, build: (g, x) => op.add(g, x.a, x.b) }],
  Sub: [{ inputs: { a: [4], b: [2, 3, 4] }, build: (g, x) => op.sub(g, x.a, x.b) }],
  Mul: [{ inputs: { a: [2, 3, 4], b: [3, 1] }, build: (g, x) => op.mul(g, x.a, x.b) }],
  Div: [{ inputs: { a: [2, 3, 4], b: [1, 3, 4] }, positive: ['b'], build: (g, x) => op.div(g, x.a, x.b) }],
  Pow: [{ inputs: { a: [2, 5] }, positive: ['a'], build: (g, x) => g.node('Pow', [x.a, g.constant('p', [], [3])], {}, [[2, 5]])[0] }],
  Neg: [{ inputs: { a: [2, 3] }, build: (g, x) => op.neg(g, x.a) }],
  Reciprocal: [{ inputs: { a: [2, 3] }, positive: ['a'], build: (g, x) => op.reciprocal(g, x.a) }],
  Sqrt: [{ inputs: { a: [2, 3] }, positive: ['a'], build: (g, x) => op.sqrt(g, x.a) }],
  Exp: [{ inputs: { a: [2, 3] }, build: (g, x) => op.exp(g, x.a) }],
  Log: [{ inputs: { a: [2, 3] }, positive: ['a'], build: (g, x) => op.log(g, x.a) }],
  Relu: [{ inputs: { a: [3, 7] }, build: (g, x) => op.relu(g, x.a) }],
  Softplus: [{ inputs: { a: [3, 4] }, build: (g, x) => op.softplus(g, x.a) }],
  Erf: [{ inputs: { a: [3, 4] }, build: (g, x) => op.erf(g, x.a) }],
  Gelu: [{ inputs: { a: [3, 4] }, build: (g, x) => g.node('Gelu', [x.a], {}, [[3, 4]], undefined, 'com.microsoft')[0] }],
  MatMul: [
    { inputs: { a: [2, 3, 4], w: [4, 5] }, build: (g, x) => op.matmul(g, x.a, x.w) },
    { inputs: { w: [3, 4], a: [2, 4, 5] }, build: (g, x) => op.matmul(g, x.w, x.a) },
    // a weight on the left of few tokens: one Gemm over the batch, on b as given or on the token-major input it was transposed from
    { inputs: { w: [6, 5], a: [2, 5, 2] }, build: (g, x) => op.matmul(g, x.w, x.a) },
    { inputs: { w: [6, 5], t: [2, 2, 5] }, build: (g, x) => op.matmul(g, x.w, op.transpose(g, x.t, [0, 2, 1])) },
    { inputs: { a: [2, 2, 3, 4], b: [2, 1, 4, 3] }, build: (g, x) => op.matmul(g, x.a, x.b) },
  ],
  Transpose: [{ inputs: { a: [2, 3, 4] }, build: (g, x) => op.transpose(g, x.a, [2, 0, 1]) }],
  Reshape: [{ inputs: { a: [2, 3, 4] }, build: (g, x) => op.reshape(g, x.a, [2, 12]) }],
  Expand: [{ inputs: { a: [1, 3, 1] }, build: (g, x) => g.node('Expand', [x.a, g.ints([2, 3, 4])], {}, [[2, 3, 4]])[0] }],
  Tile: [{ inputs: { a: [2, 1, 3] }, build: (g, x) => g.node('Tile', [x.a, g.ints([3, 1, 2])], {}, [[6, 1, 6]])[0] }],
  Gather: [
    { inputs: { a: [2, 5, 3] }, build: (g, x) => op.gather(g, x.a, [3, 0, 4, 1, 2], 1) },
    { inputs: { a: [4, 3] }, build: (g, x) => op.gather(g, x.a, [0, 2, 2, 3, 0, 0, 1], 0) },
  ],
  Concat: [{ inputs: { a: [2, 3], b: [2, 2] }, build: (g, x) => op.concat(g, [x.a, x.b], 1) }],
  Split: [{ inputs: { a: [2, 6] }, build: (g, x) => op.split(g, x.a, 1, [2, 1, 3])[2] }],
  Slice: [{ inputs: { a: [2, 6, 3] }, build: (g, x) => op.slice(g, x.a, 1, 1, 4) }],
  Pad: [{ inputs: { a: [2, 3] }, build: (g, x) => g.node('Pad', [x.a, g.ints([0, 2, 1, 0])], {}, [[3, 5]])[0] }],
  ReduceSum: [{ inputs: { a: [2, 3, 4] }, build: (g, x) => op.reduceSum(g, x.a, [0, 2], false) }],
  ReduceMean: [{ inputs: { a: [2, 3, 4] }, build: (g, x) => op.reduceMean(g, x.a, [1]) }],
  ReduceL2: [{ inputs: { a: [2, 3, 4] }, build: (g, x) => op.reduceL2(g, x.a, [1]) }],
  Softmax: [{ inputs: { a: [2, 3, 5] }, build: (g, x) => op.softmax(g, x.a, -1) }],
  ReduceMax: [
    { inputs: { a: [3, 5] }, build: (g, x) => op.reduceMax(g, x.a, [1]) },
    { inputs: { a: [2, 3, 4] }, build: (g, x) => op.reduceMax(g, x.a, [0, 2], false) },
  ],
  LayerNormalization: [
    {
      inputs: { a: [2, 3, 6], s: [6], b: [6] },
      build: (g, x) =>
        g.node('LayerNormalization', [x.a, x.s, x.b], { axis: -1, epsilon: float(1e-5) }, [
          [2, 3, 6],
          [2, 3, 1],
          [2, 3, 1],
        ])[0],
    },
  ],
  Conv: [
    { inputs: { x: [2, 3, 7, 7], w: [4, 3, 3, 3], b: [4] }, build: (g, x) => conv(g, x.x, x.w, x.b, 2, 1, 1) },
    { inputs: { x: [2, 4, 6, 6], w: [4, 1, 5, 5], b: [4] }, build: (g, x) => conv(g, x.x, x.w, x.b, 1, 2, 4) },
    { inputs: { x: [3, 2, 5, 7], w: [2, 1, 3, 3], b: [2] }, build: (g, x) => conv(g, x.x, x.w, x.b, 1, 1, 2) },
    { inputs: { x: [2, 3, 7, 6], w: [3, 1, 3, 3] }, build: (g, x) => conv(g, x.x, x.w, null, 2, 1, 3) },
    { inputs: { x: [2, 3, 8, 8], w: [5, 3, 4, 4] }, build: (g, x) => conv(g, x.x, x.w, null, 4, 0, 1) },
    { inputs: { x: [1, 2, 9, 9], w: [3, 2, 7, 7], b: [3] }, build: (g, x) => conv(g, x.x, x.w, x.b, 4, 2, 1) },
    // dense im2col weight gradient: non-square input whose last rows and columns no tap reaches, and a 1×1 conv
    { inputs: { x: [2, 3, 10, 7], w: [2, 3, 3, 3], b: [2] }, build: (g, x) => conv(g, x.x, x.w, x.b, 2, 1, 1) },
    { inputs: { x: [2, 4, 5, 5], w: [3, 4, 1, 1] }, build: (g, x) => conv(g, x.x, x.w, null, 1, 0, 1) },
    // depthwise on the blocked kernels, the weight gradient as one conv with dy as its kernel: 'same'
    // with k 3 and 5, and unpadded (its input gradient a ConvTranspose); a strided dense conv built for
    // the CPU, whose weight gradient splits the input with SpaceToDepth
    { inputs: { x: [2, 3, 10, 7], w: [2, 3, 3, 3], b: [2] }, nchwc: 0, build: (g, x) => conv(g, x.x, x.w, x.b, 2, 1, 1) },
    { inputs: { x: [2, 16, 5, 6], w: [16, 1, 3, 3], b: [16] }, nchwc: 3, build: (g, x) => conv(g, x.x, x.w, x.b, 1, 1, 16) },
    { inputs: { x: [3, 32, 6, 4], w: [32, 1, 5, 5] }, nchwc: 3, build: (g, x) => conv(g, x.x, x.w, null, 1, 2, 32) },
    { inputs: { x: [2, 16, 6, 5], w: [16, 1, 3, 3] }, nchwc: 2, build: (g, x) => conv(g, x.x, x.w, null, 1, 0, 16) },
  ],
};

describe('gradient rules against finite differences', () => {
  it('every rule in the table has a case', () => {
    expect(Object.keys(GRADIENTS).filter((k) => !CASES[k])).toEqual([]);
  });

  for (const [opName, cases] of Object.entries(CASES)) {
    cases.forEach((c, ci) => {
      it(`${opName} #${ci + 1}`, async () => {
        const g = new Graph('fp32', { batch: 1, nchwc: c.nchwc !== undefined });
        const x: Record<string, Value> = {};
        const rnd = normalRandom(ci + 11);
        const feeds = new Map<string, { shape: number[]; data: Float32Array }>();
        for (const [name, shape] of Object.entries(c.inputs)) {
          x[name] = g.fixedInput(name, shape);
          const n = shape.reduce((a, b) => a * b, 1);
          const positive = c.positive?.includes(name);
          feeds.set(name, { shape, data: Float32Array.from({ length: n }, () => (positive ? 1 + 0.5 * Math.tanh(rnd()) : rnd())) });
        }
        const y = c.build(g, x);
        const ys = g.shape(y);
        const r = g.constant(
          'R',
          ys,
          Float32Array.from({ length: ys.reduce((a, b) => a * b, 1) }, () => rnd()),
        );
        const loss = op.reduceSum(g, op.mul(g, y, r), [...ys.keys()], false);
        // every depthwise Conv, the forward's and its gradients'
        const lower = (lg: Graph) => {
          expect(lowerDepthwiseConvs(lg).size).toBe(c.nchwc);
          expect(lg.nodes.filter((n) => n.op === 'Conv' && n.domain === '' && n.attrs.group !== 1)).toEqual([]);
        };
        const { checks } = await gradCheck(g, loss, Object.keys(c.inputs), feeds, { h: 1e-5, ...(c.nchwc !== undefined ? { lower } : {}) });
        const worst = Math.max(...checks.map((k) => k.error));
        console.log(`[grad] ${opName} #${ci + 1}: worst relative error ${worst.toExponential(2)}`);
        for (const k of checks) expect(k.error, `${opName} d/d${k.input}: ${k.analytic} vs ${k.numeric}`).toBeLessThan(1e-4);
      });
    });
  }
});
