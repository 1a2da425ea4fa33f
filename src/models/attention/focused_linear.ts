/**
 * Focused linear attention, the paper's module, as the official code computes it (SPEC.md §2):
 *
 *   k ← k + positional_encoding
 *   q, k ← (ReLU(·) + 1e-6) / softplus(scale)
 *   q, k ← f_p(·) = ‖·‖ · (·)^p / ‖(·)^p‖            over all C channels
 *   out  ← (q (kᵀ n^-½)(v n^-½)) / (q · mean_n(k) + 1e-6)   per head
 *   out  ← out + DWC(v)                                 depthwise k×k conv shared by the heads
 *
 * Dimension legend: B' batch × windows, N query tokens on an H×W grid, n key/value tokens
 * (n = N unless the keys are spatially reduced), C channels, h heads, d = C/h head dim.
 */
import type { Graph, Value } from '../../graph/graph.js';
import * as op from '../../graph/ops.js';

/** The shape of one focused linear attention call. */
export interface FocusedLinearShape {
  /** C: channels of q, k and v. */
  dim: number;
  /** h: number of heads. */
  heads: number;
  /** p: the focusing factor. */
  focusingFactor: number;
  /** Kernel size of the DWC. */
  kernelSize: number;
  /** H, W: the grid of the N query tokens, on which the DWC runs. */
  grid: readonly [number, number];
  /** n: number of key/value tokens. */
  keyTokens: number;
  /** Rows of the positional encoding: n, or 1 where the official shape broadcasts. Default n. */
  positionRows?: number;
}

/** `softplus` as PyTorch computes it (threshold 20), rounded to float32. */
export function softplus(x: number): number {
  return Math.fround(x > 20 ? x : Math.log1p(Math.exp(x)));
}

/**
 * Where PyTorch's `interpolate(mode='linear', align_corners=False)` reads from when it stretches n
 * samples to N: for each output, two source indices and their weights (computed in float32 as
 * PyTorch does).
 */
export function linearInterpolation(n: number, N: number): { i0: number[]; i1: number[]; w0: Float32Array; w1: Float32Array } {
  const scale = Math.fround(n / N);
  const i0: number[] = [];
  const i1: number[] = [];
  const w0 = new Float32Array(N);
  const w1 = new Float32Array(N);
  for (let i = 0; i < N; i++) {
    const src = Math.max(Math.fround(Math.fround(scale * Math.fround(i + 0.5)) - 0.5), 0);
    const lo = Math.floor(src);
    const lambda = Math.fround(src - lo);
    i0.push(lo);
    i1.push(lo < n - 1 ? lo + 1 : lo);
    w0[i] = Math.fround(1 - lambda);
    w1[i] = lambda;
  }
  return { i0, i1, w0, w1 };
}

/** f_p over the last axis: ‖x‖ · x^p / ‖x^p‖. */
function focus(g: Graph, x: Value, p: number): Value {
  const norm = op.reduceL2(g, x, [-1]); // (B', N, 1)
  let xp: Value;
  if (p === 1) xp = x;
  else if (p === 2) xp = op.mul(g, x, x);
  else if (p === 3) xp = op.mul(g, op.mul(g, x, x), x);
  else xp = g.node('Pow', [x, g.constant('p', [], [p])], {}, [g.shape(x)])[0];
  return op.mul(g, op.div(g, xp, op.reduceL2(g, xp, [-1])), norm);
}

/**
 * Builds focused linear attention on q (B', N, C) and k, v (B', n, C) in the current scope, which
 * must be the attention module's (its parameters are `scale`, `positional_encoding` and `dwc`).
 * Returns (B', N, C): attention output plus DWC(v), before the output projection.
 */
export function focusedLinearAttention(g: Graph, q: Value, k: Value, v: Value, s: FocusedLinearShape): Value {
  const C = s.dim;
  const h = s.heads;
  const d = C / h;
  const n = s.keyTokens;
  const [H, W] = s.grid;
  const N = H * W;
  if (g.shape(q)[1] !== N) throw new Error(`internal: query tokens ${g.shape(q)[1]} do not fill the ${H}x${W} grid`);

  // The kernel function and the focusing function, over all C channels.
  k = op.add(g, k, g.param('positional_encoding', [1, s.positionRows ?? n, C]));
  const eps = g.constant('eps', [], [1e-6]);
  const scaleSpec = g.declareParam('scale', [1, 1, C]);
  const sp = g.initializer(`${scaleSpec.name}.softplus`, 'float32', [1, 1, C], (get) => get(scaleSpec.name).map(softplus));
  q = focus(g, op.div(g, op.add(g, op.relu(g, q), eps), sp), s.focusingFactor);
  k = focus(g, op.div(g, op.add(g, op.relu(g, k), eps), sp), s.focusingFactor);

  const vTokens = v;
  const qh = op.transpose(g, op.reshape(g, q, [-1, N, h, d]), [0, 2, 1, 3]); // (B', h, N, d)
  const kh = op.transpose(g, op.reshape(g, k, [-1, n, h, d]), [0, 2, 1, 3]); // (B', h, n, d)
  const vh = op.transpose(g, op.reshape(g, v, [-1, n, h, d]), [0, 2, 1, 3]); // (B', h, n, d)

  // z = 1 / (q · mean_n(k) + 1e-6)
  const kMean = op.transpose(g, op.reduceMean(g, kh, [2]), [0, 1, 3, 2]); // (B', h, d, 1)
  const z = op.reciprocal(g, op.add(g, op.matmul(g, qh, kMean), eps)); // (B', h, N, 1)

  // kv = (kᵀ n^-½)(v n^-½), then out = (q kv) z
  const rs = g.constant('inv_sqrt_n', [], [n ** -0.5]);
  const kT = op.transpose(g, kh, [0, 1, 3, 2]); // (B', h, d, n)
  const kv = op.matmul(g, op.mul(g, kT, rs), op.mul(g, vh, rs)); // (B', h, d, d)
  const out = op.mul(g, op.matmul(g, qh, kv), z); // (B', h, N, d)
  const merged = op.reshape(g, op.transpose(g, out, [0, 2, 1, 3]), [-1, N, C]); // (B', N, C)

  return op.add(g, merged, depthwiseOnValues(g, vTokens, s, n, N, d));
}

/**
 * The rank-restoring DWC: v (B', n, C), stretched to N tokens first when n < N, as an H×W image
 * through one depthwise conv whose d filters are shared by all heads (tiled here to C channels, which
 * computes exactly the per-head convolution). Returns (B', N, C).
 */
function depthwiseOnValues(g: Graph, v: Value, s: FocusedLinearShape, n: number, N: number, d: number): Value {
  const C = s.dim;
  const [H, W] = s.grid;
  const k = s.kernelSize;
  if (n !== N) {
    const ip = linearInterpolation(n, N);
    const a = op.mul(g, op.gather(g, v, ip.i0, 1), g.constant('interp_w0', [1, N, 1], ip.w0)); // (B', N, C)
    const b = op.mul(g, op.gather(g, v, ip.i1, 1), g.constant('interp_w1', [1, N, 1], ip.w1)); // (B', N, C)
    v = op.add(g, a, b);
  }
  const img = op.reshape(g, op.transpose(g, v, [0, 2, 1]), [-1, C, H, W]); // (B', C, H, W)
  const conv = g.within('dwc', 'dwc', () => {
    const wSpec = g.declareParam('weight', [d, 1, k, k]);
    const bSpec = g.declareParam('bias', [d]);
    const reps = C / d;
    const w = g.initializer(wSpec.name, 'float32', [C, 1, k, k], (get) => tile(get(wSpec.name), reps));
    const b = g.initializer(bSpec.name, 'float32', [C], (get) => tile(get(bSpec.name), reps));
    return op.conv(g, img, w, b, { pad: Math.floor(k / 2), groups: C }); // (B', C, H, W)
  });
  return op.transpose(g, op.reshape(g, conv, [-1, C, N]), [0, 2, 1]); // (B', N, C)
}

function tile(a: Float32Array, reps: number): Float32Array {
  const out = new Float32Array(a.length * reps);
  for (let r = 0; r < reps; r++) out.set(a, r * a.length);
  return out;
}
