/**
 * A block's attention as N×N matrices, built from the block's own queries and keys (float64), the way
 * the paper's figures and the official `visualize.py` build them:
 *
 * - `softmax`: softmax(q kᵀ d^-½) of the raw projections;
 * - `linear`: (ReLU(q) + 1e-6)/s · ((ReLU(k + pe) + 1e-6)/s)ᵀ, the learned scale but no focusing;
 * - `focused`: the same after f_p (the block's own kernel function);
 * - `focused_dwc`: `focused` plus the DWC as its equivalent N×N matrix, built exactly as
 *   `visualize.py` builds it (kernel of the first channel, spread over the flattened token grid),
 *   then in absolute value;
 *
 * every one normalised to rows that sum to 1. For a model with a class token only the grid tokens
 * are kept. `linear` and `focused` are kept as their N×d factors too, for exact low-rank analysis.
 */
import type { AttentionProbe } from '../graph/graph.js';
import type { ArchitectureSpec } from '../models/registry.js';
import type { ModelBase } from '../model_base.js';
import { softplus } from '../models/attention/focused_linear.js';
import type { Tensor } from '../tensor.js';
import { FlattenError } from '../util/errors.js';
import type { Matrix } from './linalg.js';

/** An attention kind: softmax, linear, focused, or focused with the DWC term. */
export type AttentionKind = 'softmax' | 'linear' | 'focused' | 'focused_dwc';
/** The four kinds of attention matrix. */
export const KINDS: readonly AttentionKind[] = ['softmax', 'linear', 'focused', 'focused_dwc'];

/** Which attention matrix: stage and head from 1 and 0, block and window from 0. */
export interface AttentionSelection {
  stage: number;
  block: number;
  head: number;
  /** The window (Swin) or stripe, when the block attends in several. Default 0. */
  window?: number;
}

/** A row-normalised N×N matrix; low-rank ones also as factors A·Bᵀ (A already row-scaled). */
export interface AttentionMatrix {
  matrix: Matrix;
  factors?: { a: Matrix; b: Matrix };
}

/** The matrices of one head, with the geometry needed to draw them. */
export interface BlockAttention {
  tokens: number;
  headDim: number;
  grid: readonly [number, number];
  /** How many windows the block attends in (1 for global attention). */
  windows: number;
  probe: AttentionProbe;
  /** Matrices by kind; `linear`, `focused` and `focused_dwc` are null in a softmax block. */
  kinds: Record<AttentionKind, AttentionMatrix | null>;
}

/** Rounds to float32, as the matrices a PyTorch analysis would hold. */
const f32 = (m: Float64Array) => m.map((v) => Math.fround(v));

function rowNormalise(m: Float64Array, N: number): Float64Array {
  for (let i = 0; i < N; i++) {
    let s = 0;
    for (let j = 0; j < N; j++) s += m[i * N + j];
    for (let j = 0; j < N; j++) m[i * N + j] /= s;
  }
  return m;
}

/** `visualize.py`'s `conv_mask`: the DWC kernel's rows at flattened offsets around each token. */
export function dwcEquivalent(kernel: Float64Array, k: number, N: number): Float64Array {
  const a = Math.round(Math.sqrt(N));
  const n = (k - 1) / 2;
  const shift = n * (a + 1);
  const out = new Float64Array(N * N);
  for (let i = 0; i < N; i++)
    for (let j = 0; j < k; j++)
      for (let c = 0; c < k; c++) {
        const col = i + j * a + c - shift;
        if (col >= 0 && col < N) out[i * N + col] = kernel[j * k + c];
      }
  return out;
}

/** x W[from:from+C]ᵀ + b for T tokens of width inF (float64). */
function projectRows(
  x: Float32Array,
  T: number,
  w: Float32Array,
  b: Float32Array | null,
  from: number,
  C: number,
  inF: number,
): Float64Array {
  const out = new Float64Array(T * C);
  for (let t = 0; t < T; t++)
    for (let c = 0; c < C; c++) {
      let acc = b ? b[from + c] : 0;
      const wr = (from + c) * inF;
      const xr = t * inF;
      for (let i = 0; i < inF; i++) acc += x[xr + i] * w[wr + i];
      out[t * C + c] = acc;
    }
  return out;
}

/** Row i of a (T, C) matrix restricted to head h's d channels, as an (T, d) matrix. */
function headSlice(m: Float64Array, T: number, C: number, h: number, d: number, skip = 0): Float64Array {
  const out = new Float64Array((T - skip) * d);
  for (let t = skip; t < T; t++) for (let j = 0; j < d; j++) out[(t - skip) * d + j] = m[t * C + h * d + j];
  return out;
}

function product(a: Float64Array, b: Float64Array, N: number, M: number, d: number): Float64Array {
  const out = new Float64Array(N * M);
  for (let i = 0; i < N; i++)
    for (let j = 0; j < M; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += a[i * d + k] * b[j * d + k];
      out[i * M + j] = s;
    }
  return out;
}

/** One head's queries and keys for one window of one image, as the probe describes them. */
interface Projected {
  probe: AttentionProbe;
  windows: number;
  /** (N, C) queries and (n, C) keys, raw projections in float64. */
  q: Float64Array;
  k: Float64Array;
  N: number;
  n: number;
  C: number;
  d: number;
  /** Grid tokens (prefix tokens dropped) of queries and keys. */
  G: number;
  Gk: number;
}

async function project(model: ModelBase, input: Tensor, sel: AttentionSelection): Promise<Projected> {
  const probe = model.definition.probe;
  if (!probe) throw new FlattenError('usage', 'load the model with the probe option to analyse its attention');
  if (input.shape[0] !== 1) throw new FlattenError('input', `the analyses take one image, found a batch of ${input.shape[0]}`);
  const out = await model.outputs(input, probe.kvInput === probe.qInput ? ['probe_q'] : ['probe_q', 'probe_kv']);
  const xq = out.probe_q;
  const xkv = out.probe_kv ?? xq;
  const windows = xq.shape[0];
  const w = sel.window ?? 0;
  if (w < 0 || w >= windows)
    throw new FlattenError('usage', `window ${w} does not exist: this block attends in ${windows} window(s), numbered from 0`);
  const { heads, dim: C, prefix } = probe;
  if (sel.head < 0 || sel.head >= heads)
    throw new FlattenError('usage', `head ${sel.head} does not exist: this block has ${heads} heads, numbered from 0`);
  const N = xq.shape[1];
  const n = xkv.shape[1];
  const rowsQ = xq.data.subarray(w * N * probe.q.inF, (w + 1) * N * probe.q.inF);
  const rowsK = xkv.data.subarray(w * n * probe.k.inF, (w + 1) * n * probe.k.inF);
  const bias = (name: string | null) => (name ? model.weight(name) : null);
  const q = projectRows(rowsQ, N, model.weight(probe.q.weight), bias(probe.q.bias), probe.q.from, C, probe.q.inF);
  const k = projectRows(rowsK, n, model.weight(probe.k.weight), bias(probe.k.bias), probe.k.from, C, probe.k.inF);
  return { probe, windows, q, k, N, n, C, d: C / heads, G: N - prefix, Gk: n - prefix };
}

/** The kernel-mapped queries and keys of focused linear attention: plain (ReLU and scale) and focused. */
function kernels(model: ModelBase, p: Projected): { linear: [Float64Array, Float64Array]; focused: [Float64Array, Float64Array] } {
  const { probe, C } = p;
  const s = model.weight(probe.scale!).map(softplus);
  const pe = model.weight(probe.positionalEncoding!);
  const rowsPe = pe.length / C;
  const qk = p.q.map((v, i) => (Math.max(v, 0) + 1e-6) / s[i % C]);
  const kk = p.k.map((v, i) => (Math.max(v + pe[rowsPe === 1 ? i % C : i], 0) + 1e-6) / s[i % C]);
  const focus = (a: Float64Array, T: number, pw: number) => {
    if (pw === 1) return a;
    const outF = new Float64Array(a.length);
    for (let t = 0; t < T; t++) {
      let n1 = 0;
      let n2 = 0;
      for (let c = 0; c < C; c++) {
        n1 += a[t * C + c] ** 2;
        n2 += a[t * C + c] ** (2 * pw);
      }
      const f = Math.sqrt(n1) / Math.sqrt(n2);
      for (let c = 0; c < C; c++) outF[t * C + c] = a[t * C + c] ** pw * f;
    }
    return outF;
  };
  return { linear: [qk, kk], focused: [focus(qk, p.N, probe.focusingFactor!), focus(kk, p.n, probe.focusingFactor!)] };
}

/** The DWC kernel of the first channel (as `visualize.py` takes it) and its size. */
function dwcKernel(model: ModelBase, p: Projected): { kernel: Float64Array; size: number } | null {
  if (!p.probe.dwcWeight || p.G !== p.Gk) return null;
  const kw = model.weight(p.probe.dwcWeight);
  const size = Math.round(Math.sqrt(kw.length / p.d));
  return { kernel: Float64Array.from(kw.subarray(0, size * size)), size };
}

/**
 * The attention matrices of one head of one block, for one image (batch of 1).
 *
 * @example
 * ```ts
 * const model = await FlattenModel.load('flatten_swin_t', 'w.pth', { probe: 'stage1.block0' });
 * const att = await blockAttention(model, x, { stage: 1, block: 0, head: 0 });
 * ```
 */
export async function blockAttention(model: ModelBase, input: Tensor, sel: AttentionSelection): Promise<BlockAttention> {
  const p = await project(model, input, sel);
  const { probe, N, n, C, d, G, Gk } = p;
  const prefix = probe.prefix;
  const kinds: BlockAttention['kinds'] = { softmax: null, linear: null, focused: null, focused_dwc: null };
  const qkScale = probe.qkScale ?? d ** -0.5;
  const logits = product(headSlice(p.q, N, C, sel.head, d, prefix), headSlice(p.k, n, C, sel.head, d, prefix), G, Gk, d);
  for (let i = 0; i < G; i++) {
    let max = -Infinity;
    for (let j = 0; j < Gk; j++) max = Math.max(max, logits[i * Gk + j] * qkScale);
    let sum = 0;
    for (let j = 0; j < Gk; j++) sum += logits[i * Gk + j] = Math.exp(logits[i * Gk + j] * qkScale - max);
    for (let j = 0; j < Gk; j++) logits[i * Gk + j] /= sum;
  }
  kinds.softmax = { matrix: { rows: G, cols: Gk, data: f32(logits) } };
  const done = { tokens: G, headDim: d, grid: probe.grid, windows: p.windows, probe, kinds };
  if (probe.kind !== 'focused') return done;
  const kf = kernels(model, p);
  const lowRank = (qa: Float64Array, ka: Float64Array): AttentionMatrix => {
    const a = headSlice(qa, N, C, sel.head, d, prefix);
    const b = headSlice(ka, n, C, sel.head, d, prefix);
    const ksum = new Float64Array(d);
    for (let t = 0; t < Gk; t++) for (let j = 0; j < d; j++) ksum[j] += b[t * d + j];
    for (let t = 0; t < G; t++) {
      let r = 0;
      for (let j = 0; j < d; j++) r += a[t * d + j] * ksum[j];
      for (let j = 0; j < d; j++) a[t * d + j] /= r;
    }
    return {
      matrix: { rows: G, cols: Gk, data: f32(product(a, b, G, Gk, d)) },
      factors: { a: { rows: G, cols: d, data: a }, b: { rows: Gk, cols: d, data: b } },
    };
  };
  kinds.linear = lowRank(...kf.linear);
  kinds.focused = lowRank(...kf.focused);
  const dwc = dwcKernel(model, p);
  if (dwc) {
    const eq = product(headSlice(kf.focused[0], N, C, sel.head, d, prefix), headSlice(kf.focused[1], n, C, sel.head, d, prefix), G, Gk, d);
    rowNormalise(eq, G);
    const mask = dwcEquivalent(dwc.kernel, dwc.size, G);
    for (let i = 0; i < eq.length; i++) eq[i] = Math.abs(eq[i] + mask[i]);
    kinds.focused_dwc = { matrix: { rows: G, cols: Gk, data: f32(rowNormalise(eq, G)) } };
  }
  return done;
}

/** One query token's attention rows (each summing to 1), by kind; null where the block has no such kind. */
export type AttentionRows = Record<AttentionKind, Float64Array | null>;

/**
 * The attention of one query token over the keys, for each kind: what the demo draws when a point of
 * the image is clicked. `token` counts grid tokens of the window (prefix tokens excluded).
 *
 * @example
 * ```ts
 * const rows = await attentionRows(model, x, { stage: 1, block: 0, head: 0 }, 1234);
 * ```
 */
export async function attentionRows(model: ModelBase, input: Tensor, sel: AttentionSelection, token: number): Promise<AttentionRows> {
  const p = await project(model, input, sel);
  const { probe, N, n, C, d, G, Gk } = p;
  const prefix = probe.prefix;
  if (token < 0 || token >= G) throw new FlattenError('usage', `token ${token} does not exist: the window has ${G} tokens`);
  const rows: AttentionRows = { softmax: null, linear: null, focused: null, focused_dwc: null };
  const row = (qa: Float64Array, ka: Float64Array) => {
    const q = headSlice(qa, N, C, sel.head, d, prefix).subarray(token * d, (token + 1) * d);
    return product(q, headSlice(ka, n, C, sel.head, d, prefix), 1, Gk, d);
  };
  const normalise = (r: Float64Array) => {
    const sum = r.reduce((a, b) => a + b, 0);
    return r.map((v) => v / sum);
  };
  const qkScale = probe.qkScale ?? d ** -0.5;
  const logits = row(p.q, p.k).map((v) => v * qkScale);
  const max = Math.max(...logits);
  rows.softmax = normalise(logits.map((v) => Math.exp(v - max)));
  if (probe.kind !== 'focused') return rows;
  const kf = kernels(model, p);
  rows.linear = normalise(row(...kf.linear));
  rows.focused = normalise(row(...kf.focused));
  const dwc = dwcKernel(model, p);
  if (dwc) {
    const mask = dwcEquivalent(dwc.kernel, dwc.size, G).subarray(token * G, (token + 1) * G);
    rows.focused_dwc = normalise(rows.focused.map((v, j) => Math.abs(v + mask[j])));
  }
  return rows;
}

/** Where a stage token lies in the probed attention: its window and its token in the window. */
export function locateToken(probe: AttentionProbe, stageToken: number): { window: number; token: number } {
  if (!probe.layout) return { window: 0, token: stageToken };
  const N = probe.grid[0] * probe.grid[1];
  const pos = probe.layout.order.indexOf(stageToken);
  return { window: Math.floor(pos / N), token: pos % N };
}

/** The stage grid the attention's tokens lie on. */
export function stageGrid(probe: AttentionProbe): readonly [number, number] {
  return probe.layout?.stageGrid ?? probe.grid;
}

/** An attention row over one window's keys, spread onto the whole stage grid (zeros elsewhere). */
export function rowOnStage(probe: AttentionProbe, window: number, row: ArrayLike<number>): Float64Array {
  const [H, W] = stageGrid(probe);
  const out = new Float64Array(H * W);
  const N = probe.grid[0] * probe.grid[1];
  for (let j = 0; j < N; j++) out[probe.layout ? probe.layout.order[window * N + j] : j] = row[j];
  return out;
}

/** The probe scope of a selection, e.g. `stage1.block0`. */
export function probeScope(sel: AttentionSelection): string {
  return `stage${sel.stage}.block${sel.block}`;
}

/** What an analysis needs to load a model: architecture, weights, threads. */
export interface AnalysisModel {
  arch: ArchitectureSpec;
  checkpoint: string | Uint8Array | ArrayBuffer;
  ema?: boolean;
  threads?: number;
}
