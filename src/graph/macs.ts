/**
 * Multiply-accumulate count of a graph for one image, the convention of the paper's FLOPs: every
 * matrix product (linear layers and the attention products) and every convolution; element-wise
 * operations, normalisation and softmax are not counted, nor are sums the graph writes as a product
 * with a row of ones (`onesRow` in layers.ts: the mean over tokens, the focusing function's norms).
 */
import type { Graph, GraphNode } from './graph.js';

/** The name prefix of `onesRow`'s constants. */
export const ONES_ROW = 'const.ones.';

/** True for a MatMul that sums its second operand's rows with a row of ones (a reduction, not a product). */
export const isSumProduct = (g: Graph, n: GraphNode): boolean =>
  n.op === 'MatMul' && n.inputs[0].startsWith(ONES_ROW) && g.initializers.has(n.inputs[0]);

/** MACs per image of every MatMul and Conv node but the sums. */
export function countMacs(g: Graph): number {
  let macs = 0;
  for (const n of g.nodes) {
    if (n.op !== 'MatMul' && n.op !== 'MatMulInteger' && n.op !== 'Conv') continue;
    if (isSumProduct(g, n)) continue;
    const out = g.shape(n.outputs[0]).reduce((a, b) => a * b, 1);
    if (n.op !== 'Conv') {
      const a = g.shape(n.inputs[0]);
      macs += out * a[a.length - 1];
    } else {
      const [, perGroup, kh, kw] = g.shape(n.inputs[1]);
      macs += out * perGroup * kh * kw;
    }
  }
  return macs;
}
