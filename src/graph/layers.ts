/**
 * The neural-network layers every family shares, as graph fragments with their parameters:
 * Linear, LayerNorm, exact GELU, Conv2d and the two-layer MLP. Parameter names follow PyTorch
 * (`weight`, `bias`) inside the caller's scope; `official` names the same module in the official
 * state dict when it differs from ours.
 *
 * Dimension legend: B batch, N tokens, C channels, H×W spatial grid.
 */
import type { Graph, Value } from './graph.js';
import * as op from './ops.js';

/** Transposes a row-major (rows, cols) matrix. */
export function transposeMatrix(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c];
  return out;
}

/**
 * `nn.Linear(inF, outF)`: x (..., inF) → (..., outF). The weight is stored transposed, (inF, outF),
 * so the product is a plain MatMul. The output value is named after the layer.
 */
export function linear(g: Graph, x: Value, local: string, inF: number, outF: number, bias = true, official = local): Value {
  return g.within(local, official, () => {
    const spec = g.declareParam('weight', [outF, inF]);
    const w = g.initializer(spec.name, 'float32', [inF, outF], (get) => transposeMatrix(get(spec.name), outF, inF));
    if (!bias) return op.matmul(g, x, w);
    const b = g.param('bias', [outF]);
    return op.add(g, op.matmul(g, x, w), b);
  });
}

/** `nn.LayerNorm(dim, eps)` over the last axis. */
export function layerNorm(g: Graph, x: Value, local: string, dim: number, eps: number, official = local): Value {
  return g.within(local, official, () => op.layerNormalization(g, x, g.param('weight', [dim]), g.param('bias', [dim]), eps));
}

/** Exact (erf) GELU, `0.5·x·(1 + erf(x/√2))`, written in the form onnxruntime fuses into one kernel. */
export function gelu(g: Graph, x: Value): Value {
  const e = op.erf(g, op.div(g, x, g.constant('sqrt2', [], [Math.SQRT2])));
  const y = op.mul(g, x, op.add(g, e, g.constant('one', [], [1])));
  return op.mul(g, y, g.constant('half', [], [0.5]));
}

/** Options of {@link conv2d}. */
export interface ConvOptions {
  inC: number;
  outC: number;
  kernel: number;
  stride?: number;
  pad?: number;
  groups?: number;
  bias?: boolean;
}

/** `nn.Conv2d` on NCHW input. */
export function conv2d(g: Graph, x: Value, local: string, o: ConvOptions, official = local): Value {
  return g.within(local, official, () => {
    const groups = o.groups ?? 1;
    const w = g.param('weight', [o.outC, o.inC / groups, o.kernel, o.kernel]);
    const b = o.bias === false ? null : g.param('bias', [o.outC]);
    return op.conv(g, x, w, b, { stride: o.stride, pad: o.pad, groups });
  });
}

/** The ViT MLP: fc1 → GELU → fc2. x (B, N, C) → (B, N, C). */
export function mlp(g: Graph, x: Value, dim: number, hidden: number): Value {
  return g.within('mlp', 'mlp', () => {
    const h = gelu(g, linear(g, x, 'fc1', dim, hidden));
    return linear(g, h, 'fc2', hidden, dim);
  });
}

/** Tokens to an image: (B, H·W, C) → (B, C, H, W). */
export function tokensToImage(g: Graph, x: Value, h: number, w: number): Value {
  const c = g.shape(x)[2];
  const t = op.transpose(g, x, [0, 2, 1]); // (B, C, H·W)
  return op.reshape(g, t, [-1, c, h, w]); // (B, C, H, W)
}

/** An image to tokens: (B, C, H, W) → (B, H·W, C). */
export function imageToTokens(g: Graph, x: Value): Value {
  const [, c, h, w] = g.shape(x);
  const t = op.reshape(g, x, [-1, c, h * w]); // (B, C, H·W)
  return op.transpose(g, t, [0, 2, 1]); // (B, H·W, C)
}

/** Mean over the token axis: (B, N, C) → (B, C). */
export function meanTokens(g: Graph, x: Value): Value {
  return op.reduceMean(g, x, [1], false);
}
