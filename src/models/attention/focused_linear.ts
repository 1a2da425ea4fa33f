/**
 * Focused linear attention, the paper's module, as the official code computes it (SPEC.md §2):
 *
 *   k ← k + positional_encoding
 *   q, k ← (ReLU(·) + 1e-6) / softplus(scale)
 *   q, k ← f_p(·) = ‖·‖ · (·)^p / ‖(·)^p‖            over all C channels
 *   out  ← (q (kᵀ n^-½)(v n^-½)) / (q · mean_n(k) + 1e-6)   per head
 *   out  ← out + DWC(v)                                 depthwise k×k conv shared by the heads
 *
 * The graph computes the same function with fewer passes over the activations, each step exact up
 * to float rounding: 1/softplus(scale), the 1e-6 and the positional encoding are folded into the q and
 * k projections (s > 0 commutes with ReLU), `ReLU(z) + e` is `Max(z + e, e)`, f_p is one `Pow` and a
 * per-token factor ‖x‖/‖x^p‖, and the two n^-½ factors are applied once to the d×d product kᵀv.
 *
 * Dimension legend: B' batch × windows, N query tokens on an H×W grid, n key/value tokens
 * (n = N unless the keys are spatially reduced), C channels, h heads, d = C/h head dim.
 */
import type { AttentionProbe, Graph, ParamSpec, Value, WeightLookup } from '../../graph/graph.js';
import { type LinearParams, onesRow, projectChannels } from '../../graph/layers.js';
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
  /** Tokens before the H×W grid (DeiT's class token): they join the attention but not the DWC. */
  prefixTokens?: number;
  /** `relu` drops the focusing function (the paper's plain linear attention ablation). Default `focused`. */
  kernelFunction?: KernelFunction;
  /** The rank-restoring DWC; default true. */
  dwc?: boolean;
  /** Where the tokens sit in the stage, for the analyses (see `AttentionProbe.layout`). */
  layout?: AttentionProbe['layout'];
}

/** The kernel function φ of linear attention: ReLU alone, or ReLU then f_p. */
export type KernelFunction = 'focused' | 'relu';

/** Where q, k and v come from: output features [from, from + C) of a linear layer applied to `x`. */
export interface ProjectionSource {
  x: Value;
  linear: LinearParams;
  from: number;
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

/** The parameters of the kernel function, and the rows of the positional encoding. */
interface KernelParams {
  pe: ParamSpec;
  scale: ParamSpec;
  rows: number;
}

/** q, k after the kernel function `(ReLU(·) + 1e-6) / softplus(scale)`, and v; all channel-major. */
type KernelStep = (
  g: Graph,
  src: { q: ProjectionSource; k: ProjectionSource; v: ProjectionSource },
  T: (x: Value) => () => Value,
  C: number,
  kp: KernelParams,
) => { qz: Value; kz: Value; vT: Value };

/**
 * The kernel function folded into the projections (inference): `Max(W/s · x + (b [+ pe] + 1e-6)/s,
 * 1e-6/s)`, exact because s > 0 commutes with ReLU.
 */
const kernelFolded: KernelStep = (g, { q, k, v }, T, C, { pe, scale, rows }) => {
  const inv = (get: WeightLookup) => get(scale.name).map((x) => 1 / softplus(x));
  const floor = g.initializer(`${scale.name}.eps`, 'float32', [C, 1], (get) => inv(get).map((r) => 1e-6 * r));
  const qz = projectChannels(g, () => q.x, T(q.x), q, C, 'focused_q', inv, {
    tokens: 1,
    value: (get, b) => {
      const r = inv(get);
      return (c) => (b[c] + 1e-6) * r[c];
    },
  }); // (B', C, N)
  const kz = projectChannels(g, () => k.x, T(k.x), k, C, 'focused_k', inv, {
    tokens: rows,
    value: (get, b) => {
      const p = get(pe.name);
      const r = inv(get);
      return (c, t) => (b[c] + p[t * C + c] + 1e-6) * r[c];
    },
  }); // (B', C, n)
  const vT = projectChannels(g, () => v.x, T(v.x), v, C, 'v', null, null); // (B', C, n)
  const max = (z: Value) => g.node('Max', [z, floor], {}, [g.shape(z)])[0];
  return { qz: max(qz), kz: max(kz), vT };
};

/** The kernel function step by step on the official parameters (training graphs), as SPEC.md §2. */
const kernelUnfolded: KernelStep = (g, { q, k, v }, T, C, { pe, scale }) => {
  const s = op.reshape(g, op.softplus(g, g.paramValue(scale)), [1, C, 1]); // (1, C, 1)
  const eps = g.constant('eps', [], [1e-6]);
  const phi = (z: Value) => op.div(g, op.add(g, op.relu(g, z), eps), s);
  const qz = projectChannels(g, () => q.x, T(q.x), q, C, 'q'); // (B', C, N)
  const kp = projectChannels(g, () => k.x, T(k.x), k, C, 'k'); // (B', C, n)
  const kz = op.add(g, kp, op.transpose(g, g.paramValue(pe), [0, 2, 1])); // (B', C, n) + (1, C, rows)
  const vT = projectChannels(g, () => v.x, T(v.x), v, C, 'v'); // (B', C, n)
  return { qz: phi(qz), kz: phi(kz), vT };
};

/**
 * ‖x‖₂ over the channel axis of (B', C, T), (B', 1, T). An inference graph sums the squares with a
 * product by a row of ones, which onnxruntime's CPU provider runs 2–4 times faster than its `ReduceL2`
 * over a middle axis ((8, 96, 3136): 0.25 against 0.82 ms); a training graph keeps `ReduceL2`, whose
 * gradient is one rule.
 */
function channelNorm(g: Graph, x: Value): Value {
  if (g.training) return op.reduceL2(g, x, [1]);
  return op.sqrt(g, op.matmul(g, onesRow(g, g.shape(x)[1]), op.mul(g, x, x))); // (1, C) @ (B', C, T) → (B', 1, T)
}

/** f_p over the channel axis of (B', C, T): x^p · ‖x‖ / ‖x^p‖. */
function focusChannels(g: Graph, x: Value, p: number): Value {
  if (p === 1) return x;
  const norm = channelNorm(g, x); // (B', 1, T)
  const xp = g.node('Pow', [x, g.constant('p', [], [p])], {}, [g.shape(x)])[0];
  return op.mul(g, xp, op.div(g, norm, channelNorm(g, xp))); // (B', C, T)
}

/** Options beyond the shape: an extra depthwise term on the V image (CSwin's LePE). */
export interface FocusedLinearExtras {
  /** Added to the output with the DWC: receives V as an image (B', C, H, W), returns (B', C, H, W). */
  onValues?: (vImage: Value) => Value;
}

/**
 * Builds focused linear attention in the current scope, which must be the attention module's (its
 * parameters are `scale`, `positional_encoding` and `dwc`). q comes from `q.x` (B', N, Cin) and k, v
 * from `kv.x` (B', n, Cin) through their linear layers, so that the kernel function folds into the
 * weights. Inside, everything is channel-major (B', C, T): one transpose of each input serves all
 * three projections, the heads are a free reshape (B', h, d, T), and the DWC reads V as it is.
 * Returns (B', N, C): attention output plus DWC(v) (plus `onValues`), before the output projection.
 */
export function focusedLinearAttention(
  g: Graph,
  q: ProjectionSource,
  k: ProjectionSource,
  v: ProjectionSource,
  s: FocusedLinearShape,
  extras: FocusedLinearExtras = {},
): Value {
  const C = s.dim;
  const h = s.heads;
  const d = C / h;
  const n = s.keyTokens;
  const [H, W] = s.grid;
  const prefix = s.prefixTokens ?? 0;
  const N = prefix + H * W;
  const rows = s.positionRows ?? n;
  const p = s.kernelFunction === 'relu' ? 1 : s.focusingFactor;

  const transposed = new Map<Value, Value>();
  const T = (x: Value) => () => {
    if (!transposed.has(x)) transposed.set(x, op.transpose(g, x, [0, 2, 1])); // (B', Cin, T)
    return transposed.get(x)!;
  };

  const scaleSpec = g.declareParam('scale', [1, 1, C]);
  const peSpec = g.declareParam('positional_encoding', [1, rows, C]);
  const kernel = g.training ? kernelUnfolded : kernelFolded;
  const { qz, kz, vT } = kernel(g, { q, k, v }, T, C, { pe: peSpec, scale: scaleSpec, rows }); // (B', C, N), (B', C, n), (B', C, n)
  const qf = op.reshape(g, focusChannels(g, qz, p), [-1, h, d, N]); // (B', h, d, N)
  const kf = op.reshape(g, focusChannels(g, kz, p), [-1, h, d, n]); // (B', h, d, n)
  const vh = op.reshape(g, vT, [-1, h, d, n]); // (B', h, d, n)

  // zᵀ = 1 / (mean_n(k)ᵀ q + 1e-6)
  const kMean = op.reshape(g, op.reduceMean(g, kf, [3]), [-1, h, 1, d]); // (B', h, 1, d)
  const z = op.reciprocal(g, op.add(g, op.matmul(g, kMean, qf), g.constant('eps', [], [1e-6]))); // (B', h, 1, N)

  // kvᵀ = (vᵀ k) n^-1, then outᵀ = (kvᵀ qᵀ) zᵀ
  const kvT2 = op.mul(g, op.matmul(g, vh, op.transpose(g, kf, [0, 1, 3, 2])), g.constant('inv_n', [], [Math.fround(n ** -0.5) ** 2])); // (B', h, d, d)
  const out = op.reshape(g, op.mul(g, op.matmul(g, kvT2, qf), z), [-1, C, N]); // (B', C, N)

  const proj = (src: ProjectionSource) => ({
    weight: src.linear.weight.name,
    bias: src.linear.bias?.name ?? null,
    from: src.from,
    inF: src.linear.inF,
  });
  g.probes.push({
    scope: g.name(''),
    kind: 'focused',
    qInput: q.x,
    kvInput: k.x,
    q: proj(q),
    k: proj(k),
    heads: h,
    dim: C,
    grid: s.grid,
    prefix,
    keyTokens: n,
    focusingFactor: p,
    scale: scaleSpec.name,
    positionalEncoding: peSpec.name,
    dwcWeight: s.dwc === false ? null : `${g.name('dwc')}.weight`,
    ...(s.layout ? { layout: s.layout } : {}),
  });
  let sum = s.dwc === false ? out : op.add(g, out, depthwiseOnValues(g, vT, s, n, H * W, d, prefix)); // (B', C, N)
  if (extras.onValues) sum = op.add(g, sum, op.reshape(g, extras.onValues(op.reshape(g, vT, [-1, C, H, W])), [-1, C, N])); // (B', C, N)
  return op.transpose(g, sum, [0, 2, 1]); // (B', N, C)
}

/**
 * The rank-restoring DWC: vᵀ (B', C, n), stretched to N = H·W tokens first when n < N, as an H×W image
 * through one depthwise conv whose d filters are shared by all heads (tiled here to C channels, which
 * computes exactly the per-head convolution). Prefix tokens (a class token) get no DWC term. Returns
 * (B', C, prefix + N).
 */
function depthwiseOnValues(g: Graph, vT: Value, s: FocusedLinearShape, n: number, N: number, d: number, prefix: number): Value {
  const C = s.dim;
  const [H, W] = s.grid;
  const k = s.kernelSize;
  if (prefix > 0)
    vT = op.slice(g, vT, 2, prefix, prefix + N); // (B', C, H·W): the grid tokens only
  else if (n !== N) {
    const ip = linearInterpolation(n, N);
    const a = op.mul(g, op.gather(g, vT, ip.i0, 2), g.constant('interp_w0', [N], ip.w0)); // (B', C, N)
    const b = op.mul(g, op.gather(g, vT, ip.i1, 2), g.constant('interp_w1', [N], ip.w1)); // (B', C, N)
    vT = op.add(g, a, b);
  }
  const img = op.reshape(g, vT, [-1, C, H, W]); // (B', C, H, W)
  const conv = g.within('dwc', 'dwc', () => {
    const wSpec = g.declareParam('weight', [d, 1, k, k]);
    const bSpec = g.declareParam('bias', [d]);
    const reps = C / d;
    const w = g.training
      ? g.node('Tile', [g.paramValue(wSpec), g.ints([reps, 1, 1, 1])], {}, [[C, 1, k, k]])[0] // (C, 1, k, k)
      : g.initializer(wSpec.name, 'float32', [C, 1, k, k], (get) => tile(get(wSpec.name), reps));
    const b = g.training
      ? g.node('Tile', [g.paramValue(bSpec), g.ints([reps])], {}, [[C]])[0] // (C)
      : g.initializer(bSpec.name, 'float32', [C], (get) => tile(get(bSpec.name), reps));
    return op.conv(g, img, w, b, { pad: Math.floor(k / 2), groups: C }); // (B', C, H, W)
  });
  const flat = op.reshape(g, conv, [-1, C, N]); // (B', C, H·W)
  if (prefix === 0) return flat;
  return g.node('Pad', [flat, g.ints([0, 0, prefix, 0, 0, 0])], {}, [[g.shape(flat)[0], C, prefix + N]])[0]; // (B', C, prefix + H·W), zeros for the prefix
}

function tile(a: Float32Array, reps: number): Float32Array {
  const out = new Float32Array(a.length * reps);
  for (let r = 0; r < reps; r++) out.set(a, r * a.length);
  return out;
}
