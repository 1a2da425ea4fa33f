/**
 * The two attentions of FLatten-PVT and FLatten-PVTv2 (official `FocusedLinearAttention` and
 * `Attention` in `models/flatten_pvt.py` / `flatten_pvt_v2.py`), with spatial reduction of the keys
 * and values when `sr_ratio > 1`, and PVTv2's `linear` pooling variant.
 *
 * Dimension legend: B batch, N = H·W query tokens, n key/value tokens (N/sr², or 49 when pooled),
 * C channels, h heads, d = C/h.
 */
import type { Graph, Value } from '../../graph/graph.js';
import {
  conv2d,
  declareLinear,
  gelu,
  imageToTokens,
  layerNorm,
  probeSoftmax,
  project,
  scaledQuery,
  tokensToImage,
} from '../../graph/layers.js';
import * as op from '../../graph/ops.js';
import { require_ } from '../args.js';
import { focusedLinearAttention, type KernelFunction } from '../attention/focused_linear.js';
import { adaptivePoolMatrix } from './resample.js';

/** One attention layer's configuration. */
export interface PvtAttention {
  type: 'L' | 'S';
  dim: number;
  heads: number;
  grid: [number, number];
  srRatio: number;
  /** Tokens of the stage as the constructor sized them (`num_patches`), for the positional encoding. */
  numPatches: number;
  qkvBias: boolean;
  qkScale: number | null;
  /** PVTv2's `linear=True`: keys and values from a 7×7 average pool. */
  linear: boolean;
  focusingFactor: number;
  kernelSize: number;
  kernelFunction: KernelFunction;
  dwc: boolean;
}

/** The reduced tokens x_ (B, n, C) that keys and values come from, or x itself. */
function reduced(g: Graph, x: Value, a: PvtAttention): Value {
  const [H, W] = a.grid;
  const C = a.dim;
  if (a.linear) {
    const img = op.reshape(g, op.transpose(g, x, [0, 2, 1]), [-1, C, H * W]); // (B, C, N)
    const pooled = op.matmul(g, img, g.constant('pool', [H * W, 49], adaptivePoolMatrix(H, W, 7))); // (B, C, 49)
    const p = op.reshape(g, pooled, [-1, C, 7, 7]); // (B, C, 7, 7)
    const t = imageToTokens(g, conv2d(g, p, 'sr', { inC: C, outC: C, kernel: 1 })); // (B, 49, C)
    return gelu(g, layerNorm(g, t, 'norm', C, 1e-5));
  }
  if (a.srRatio <= 1) return x;
  const img = tokensToImage(g, x, H, W); // (B, C, H, W)
  const r = conv2d(g, img, 'sr', { inC: C, outC: C, kernel: a.srRatio, stride: a.srRatio }); // (B, C, H/sr, W/sr)
  return layerNorm(g, imageToTokens(g, r), 'norm', C, 1e-5); // (B, n, C)
}

/** Builds the attention module in the current scope (`attn`). x (B, N, C) → (B, N, C). */
export function pvtAttention(g: Graph, x: Value, a: PvtAttention, where: string): Value {
  const C = a.dim;
  const h = a.heads;
  const d = C / h;
  const [H, W] = a.grid;
  const N = H * W;
  const qLin = declareLinear(g, 'q', C, C, a.qkvBias);
  const kvLin = declareLinear(g, 'kv', C, 2 * C, a.qkvBias);
  const projLin = declareLinear(g, 'proj', C, C);
  const kvIn = reduced(g, x, a);
  const n = g.shape(kvIn)[1];
  let out: Value;
  if (a.type === 'L') {
    const rows = Math.floor(a.numPatches / (a.srRatio * a.srRatio));
    require_(
      rows === n || rows === 1,
      where,
      `the positional encoding has ${rows} rows but the keys have ${n} tokens${a.linear ? ' (linear=True pools keys to 7x7, which focused linear attention cannot use)' : ''}; the official model cannot run this configuration`,
    );
    out = focusedLinearAttention(
      g,
      { x, linear: qLin, from: 0 },
      { x: kvIn, linear: kvLin, from: 0 },
      { x: kvIn, linear: kvLin, from: C },
      {
        dim: C,
        heads: h,
        focusingFactor: a.focusingFactor,
        kernelSize: a.kernelSize,
        grid: [H, W],
        keyTokens: n,
        positionRows: rows,
        kernelFunction: a.kernelFunction,
        dwc: a.dwc,
      },
    );
  } else {
    const qkScale = a.qkScale ?? d ** -0.5;
    probeSoftmax(
      g,
      x,
      kvIn,
      { linear: qLin, from: 0 },
      { linear: kvLin, from: 0 },
      { heads: h, dim: C, grid: [H, W], keyTokens: n, qkScale },
    );
    const q = project(g, x, qLin, 0, C, scaledQuery(C, C, qkScale)); // (B, N, C)
    const [k, v] = op.split(g, project(g, kvIn, kvLin), 2, [C, C]); // (B, n, C) each
    const qh = op.transpose(g, op.reshape(g, q, [-1, N, h, d]), [0, 2, 1, 3]); // (B, h, N, d)
    const kh = op.transpose(g, op.reshape(g, k, [-1, n, h, d]), [0, 2, 3, 1]); // (B, h, d, n)
    const vh = op.transpose(g, op.reshape(g, v, [-1, n, h, d]), [0, 2, 1, 3]); // (B, h, n, d)
    const attn = op.softmax(g, op.matmul(g, qh, kh), -1); // (B, h, N, n)
    out = op.reshape(g, op.transpose(g, op.matmul(g, attn, vh), [0, 2, 1, 3]), [-1, N, C]); // (B, N, C)
  }
  return project(g, out, projLin);
}
