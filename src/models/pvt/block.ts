/**
 * The PVT / PVTv2 transformer block: pre-norm attention and MLP with residuals (LayerNorm eps 1e-6,
 * the official factories' `norm_layer`). PVTv2's MLP runs a depthwise 3×3 conv on the token grid
 * between fc1 and GELU (and a ReLU before it when `linear=True`).
 *
 * Dimension legend: B batch, N = H·W tokens, C channels, F hidden features.
 */
import type { Graph, Value } from '../../graph/graph.js';
import { conv2d, declareLinear, gelu, layerNorm, mlp, projectChannels, residual } from '../../graph/layers.js';
import * as op from '../../graph/ops.js';
import { type PvtAttention, pvtAttention } from './attention.js';

/**
 * PVTv2's MLP: fc1 → [ReLU] → DWConv 3×3 → GELU → fc2, x (B, N, C) → (B, N, C). It runs channel-major
 * so that the conv reads the F-wide hidden layer in place: only the C-wide input and output are
 * transposed.
 */
function convMlp(g: Graph, x: Value, C: number, F: number, grid: [number, number], relu: boolean): Value {
  return g.within('mlp', 'mlp', () => {
    const [H, W] = grid;
    let xT: Value | null = null;
    const lazyT = () => (xT ??= op.transpose(g, x, [0, 2, 1])); // (B, C, N)
    let hdn = projectChannels(g, () => x, lazyT, { linear: declareLinear(g, 'fc1', C, F), from: 0 }, F, 'cm'); // (B, F, N)
    if (relu) hdn = op.relu(g, hdn);
    const img = op.reshape(g, hdn, [-1, F, H, W]); // (B, F, H, W)
    const dw = g.within('dwconv', 'dwconv', () => conv2d(g, img, 'dwconv', { inC: F, outC: F, kernel: 3, pad: 1, groups: F }));
    const act = gelu(g, op.reshape(g, dw, [-1, F, H * W])); // (B, F, N)
    let actT: Value | null = null;
    const tokens = () => (actT ??= op.transpose(g, act, [0, 2, 1])); // (B, N, F), int8 only
    const y = projectChannels(g, tokens, () => act, { linear: declareLinear(g, 'fc2', F, C), from: 0 }, C, 'cm'); // (B, C, N)
    return op.transpose(g, y, [0, 2, 1]); // (B, N, C)
  });
}

/** One block in the current scope. */
export function pvtBlock(g: Graph, x: Value, a: PvtAttention, hidden: number, v2: boolean, where: string): Value {
  const C = a.dim;
  const normed = layerNorm(g, x, 'norm1', C, 1e-6);
  const y = g.within('attn', 'attn', () => pvtAttention(g, normed, a, where));
  x = residual(g, x, y);
  const z = layerNorm(g, x, 'norm2', C, 1e-6);
  return residual(g, x, v2 ? convMlp(g, z, C, hidden, a.grid, a.linear) : mlp(g, z, C, hidden));
}
