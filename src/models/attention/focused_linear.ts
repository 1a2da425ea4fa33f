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
import type { Graph, Value, WeightLookup } from '../../graph/graph.js';
import { type LinearParams, project } from '../../graph/layers.js';
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

/** Where q and k come from: output features [from, from + C) of a linear layer applied to `x`. */
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

/** f_p over the last axis: x^p · ‖x‖ / ‖x^p‖. */
function focus(g: Graph, x: Value, p: number): Value {
  if (p === 1) return x;
  const norm = op.reduceL2(g, x, [-1]); // (B', N, 1)
  const xp = g.node('Pow', [x, g.constant('p', [], [p])], {}, [g.shape(x)])[0];
  return op.mul(g, xp, op.div(g, norm, op.reduceL2(g, xp, [-1]))); // (B', N, C)
}

/** Splits (B', T, C) into heads (B', h, T, d); a no-op reshape for one head. */
function toHeads(g: Graph, x: Value, T: number, h: number, d: number): Value {
  if (h === 1) return op.reshape(g, x, [-1, 1, T, d]); // (B', 1, T, d)
  return op.transpose(g, op.reshape(g, x, [-1, T, h, d]), [0, 2, 1, 3]); // (B', h, T, d)
}

/**
 * Builds focused linear attention in the current scope, which must be the attention module's (its
 * parameters are `scale`, `positional_encoding` and `dwc`). q and k are projected here, from their
 * linear layers, so that the kernel function can be folded into the weights; v (B', n, C) comes
 * projected. Returns (B', N, C): attention output plus DWC(v), before the output projection.
 */
export function focusedLinearAttention(g: Graph, q: ProjectionSource, k: ProjectionSource, v: Value, s: FocusedLinearShape): Value {
  const C = s.dim;
  const h = s.heads;
  const d = C / h;
  const n = s.keyTokens;
  const [H, W] = s.grid;
  const N = H * W;
  const rows = s.positionRows ?? n;

  // Kernel function folded into the projections: Max(x·W/s + (b [+ pe] + 1e-6)/s, 1e-6/s).
  const peSpec = g.declareParam('positional_encoding', [1, rows, C]);
  const scaleSpec = g.declareParam('scale', [1, 1, C]);
  const inv = (get: WeightLookup) => get(scaleSpec.name).map((x) => 1 / softplus(x));
  const floor = g.initializer(`${scaleSpec.name}.eps`, 'float32', [C], (get) => inv(get).map((r) => 1e-6 * r));
  const qz = project(g, q.x, q.linear, q.from, q.from + C, {
    tag: 'focused_q',
    scale: inv,
    bias: { dims: [C], values: (get, b) => b.map((x, c) => (x + 1e-6) * inv(get)[c]) },
  }); // (B', N, C)
  const kz = project(g, k.x, k.linear, k.from, k.from + C, {
    tag: 'focused_k',
    scale: inv,
    bias: {
      dims: [1, rows, C],
      values: (get, b) => {
        const pe = get(peSpec.name);
        const r = inv(get);
        return pe.map((x, i) => (b[i % C] + x + 1e-6) * r[i % C]);
      },
    },
  }); // (B', n, C)
  const qf = focus(g, g.node('Max', [qz, floor], {}, [g.shape(qz)])[0], s.focusingFactor);
  const kf = focus(g, g.node('Max', [kz, floor], {}, [g.shape(kz)])[0], s.focusingFactor);

  const qh = toHeads(g, qf, N, h, d); // (B', h, N, d)
  const kh = toHeads(g, kf, n, h, d); // (B', h, n, d)
  const vh = toHeads(g, v, n, h, d); // (B', h, n, d)

  // z = 1 / (q · mean_n(k) + 1e-6)
  const kMean = op.transpose(g, op.reduceMean(g, kh, [2]), [0, 1, 3, 2]); // (B', h, d, 1)
  const z = op.reciprocal(g, op.add(g, op.matmul(g, qh, kMean), g.constant('eps', [], [1e-6]))); // (B', h, N, 1)

  // kv = (kᵀ v) n^-1, then out = (q kv) z
  const kT = op.transpose(g, kh, [0, 1, 3, 2]); // (B', h, d, n)
  const kv = op.mul(g, op.matmul(g, kT, vh), g.constant('inv_n', [], [Math.fround(n ** -0.5) ** 2])); // (B', h, d, d)
  const out = op.mul(g, op.matmul(g, qh, kv), z); // (B', h, N, d)
  const merged =
    h === 1
      ? op.reshape(g, out, [-1, N, C]) // (B', N, C)
      : op.reshape(g, op.transpose(g, out, [0, 2, 1, 3]), [-1, N, C]); // (B', N, C)

  return op.add(g, merged, depthwiseOnValues(g, v, s, n, N, d));
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
  let vT = op.transpose(g, v, [0, 2, 1]); // (B', C, n)
  if (n !== N) {
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
