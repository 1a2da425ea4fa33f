/**
 * Depthwise convolutions on onnxruntime's blocked-layout CPU kernels, for graphs whose weights are
 * computed rather than constant (training graphs, fed their weights every step).
 *
 * onnxruntime's CPU provider runs a depthwise conv in its NCHWc layout (channels in blocks of b, the
 * block innermost: (N, C/b, H, W, b)) several times faster than in NCHW, but its optimizer moves a
 * conv into that layout only when the weight is a constant it can reorder once. Here the graph says
 * it itself, in the provider's own operators (domain `com.microsoft.nchwc`): the input and the weight
 * are reordered into blocks by `ReorderInput` (a depthwise filter (C, 1, kh, kw) in the provider's
 * OIHWBo order is the blocked layout of the same floats read as an image (1, C, kh, kw)), the conv runs
 * blocked, and `ReorderOutput` puts the result back. The block size b (8 with AVX2, 16 with AVX-512) is
 * the provider's choice and appears in no shape, so the graph holds on any CPU; channel counts must be
 * a multiple of it.
 *
 * Only onnxruntime's CPU provider has these operators: a graph is lowered only for it (see
 * `nchwcKernels` in runtime/nchwc.ts), and every other runtime gets the plain ONNX graph.
 *
 * Dimension legend: N batch, C channels, H×W image, kh×kw kernel.
 */
import type { Graph, GraphNode } from './graph.js';
import * as op from './ops.js';

/** onnxruntime's domain of its blocked-layout CPU operators. */
export const NCHWC_DOMAIN = 'com.microsoft.nchwc';

/** True for a channel count every block size onnxruntime's CPU kernels use divides (8, 16). */
export const blockedChannels = (c: number): boolean => c % 16 === 0;

/** True for a depthwise conv (one input and one output channel per group) the blocked kernels can take. */
function lowerable(g: Graph, n: GraphNode): boolean {
  if (n.op !== 'Conv' || n.domain !== '') return false;
  const w = g.shape(n.inputs[1]);
  const [, C] = g.shape(n.inputs[0]);
  return w.length === 4 && w[0] === C && w[1] === 1 && n.attrs.group === C && blockedChannels(C) && !g.initializers.has(n.inputs[1]);
}

/**
 * Replaces every depthwise conv of `g` whose weight is computed (not an initializer) and whose channel
 * count the blocks divide by the same conv on onnxruntime's blocked-layout CPU kernels. Returns, for
 * each conv replaced, the nodes that took its place.
 *
 * @example
 * ```ts
 * const tg = defineTrainingGraph(arch, { batch: 32, nchwc: true }); // lowers its graph with this
 * ```
 */
export function lowerDepthwiseConvs(g: Graph): Map<GraphNode, GraphNode[]> {
  const lowered = new Map<GraphNode, GraphNode[]>();
  for (const n of g.nodes.filter((m) => lowerable(g, m))) {
    const [x, w, bias] = n.inputs;
    const xs = g.shape(x);
    const [C, , kh, kw] = g.shape(w);
    const ys = g.shape(n.outputs[0]);
    const added = g.replaceNode(n, () => {
      const xb = g.node('ReorderInput', [x], {}, [xs], undefined, NCHWC_DOMAIN)[0]; // (N, C, H, W) held as (N, C/b, H, W, b)
      const image = op.reshape(g, w, [1, C, kh, kw]); // (1, C, kh, kw): the filter read as an image
      const wb = g.node('ReorderInput', [image], {}, [[1, C, kh, kw]], undefined, NCHWC_DOMAIN)[0]; // held as (1, C/b, kh, kw, b)
      const filter = op.reshape(g, wb, [C, 1, kh, kw]); // (C, 1, kh, kw) held as OIHWBo: (C/b, 1, kh, kw, b)
      const y = g.node('Conv', bias ? [xb, filter, bias] : [xb, filter], { ...n.attrs }, [ys], undefined, NCHWC_DOMAIN)[0]; // held as (N, C/b, oh, ow, b)
      return g.node('ReorderOutput', [y], { channels: C }, [ys], undefined, NCHWC_DOMAIN)[0]; // (N, C, oh, ow)
    });
    lowered.set(n, added);
  }
  return lowered;
}
