/**
 * Multiply-accumulate count of a graph for one image, the convention of the paper's FLOPs: every
 * matrix product (linear layers and the attention products) and every convolution; element-wise
 * operations, normalisation and softmax are not counted.
 */
import type { Graph } from './graph.js';

/** MACs per image of every MatMul and Conv node. */
export function countMacs(g: Graph): number {
  let macs = 0;
  for (const n of g.nodes) {
    if (n.op !== 'MatMul' && n.op !== 'MatMulInteger' && n.op !== 'Conv') continue;
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
