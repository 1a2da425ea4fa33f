import { describe, expect, it } from 'vitest';
import { Graph } from '../../../src/graph/graph.js';
import { declareLinear } from '../../../src/graph/layers.js';
import { serializeModel } from '../../../src/graph/onnx.js';
import {
  focusedLinearAttention,
  type FocusedLinearShape,
  linearInterpolation,
  softplus,
} from '../../../src/models/attention/focused_linear.js';
import { seededRandom } from '../../../src/models/init.js';
import { createSession } from '../../../src/runtime/session.js';

/**
 * The official FocusedLinearAttention.forward, transcribed literally in float64 (SPEC.md §2): the
 * graph's folded and channel-major computation must agree with it.
 */
function reference(
  x: Float64Array,
  xkv: Float64Array,
  w: Record<string, Float64Array>,
  s: Required<Omit<FocusedLinearShape, 'positionRows' | 'layout'>>,
  C: number,
): Float64Array {
  const { heads: h, grid, keyTokens: n, prefixTokens: prefix } = s;
  const N = prefix + grid[0] * grid[1];
  const d = C / h;
  const lin = (inp: Float64Array, T: number, from: number) => {
    const out = new Float64Array(T * C);
    for (let t = 0; t < T; t++)
      for (let c = 0; c < C; c++) {
        let acc = w.qkv_b[from + c];
        for (let i = 0; i < C; i++) acc += inp[t * C + i] * w.qkv_w[(from + c) * C + i];
        out[t * C + c] = acc;
      }
    return out;
  };
  let q = lin(x, N, 0);
  let k = lin(xkv, n, C);
  const v = lin(xkv, n, 2 * C);
  for (let i = 0; i < k.length; i++) k[i] += w.pe[i];
  const sp = Array.from(w.scale, (x) => softplus(x));
  const kernel = (a: Float64Array) => a.map((val, i) => (Math.max(val, 0) + 1e-6) / sp[i % C]);
  q = kernel(q);
  k = kernel(k);
  const p = s.kernelFunction === 'relu' ? 1 : s.focusingFactor;
  const focus = (a: Float64Array, T: number) => {
    const out = new Float64Array(a.length);
    for (let t = 0; t < T; t++) {
      let n1 = 0;
      let n2 = 0;
      for (let c = 0; c < C; c++) {
        n1 += a[t * C + c] ** 2;
        n2 += a[t * C + c] ** (2 * p);
      }
      for (let c = 0; c < C; c++) out[t * C + c] = (a[t * C + c] ** p / Math.sqrt(n2)) * Math.sqrt(n1);
    }
    return out;
  };
  q = focus(q, N);
  k = focus(k, n);
  const out = new Float64Array(N * C);
  for (let hh = 0; hh < h; hh++) {
    const kmean = new Float64Array(d);
    for (let t = 0; t < n; t++) for (let j = 0; j < d; j++) kmean[j] += k[t * C + hh * d + j] / n;
    const kv = new Float64Array(d * d);
    for (let t = 0; t < n; t++)
      for (let a = 0; a < d; a++)
        for (let b = 0; b < d; b++) kv[a * d + b] += k[t * C + hh * d + a] * n ** -0.5 * (v[t * C + hh * d + b] * n ** -0.5);
    for (let t = 0; t < N; t++) {
      let zden = 1e-6;
      for (let j = 0; j < d; j++) zden += q[t * C + hh * d + j] * kmean[j];
      for (let b = 0; b < d; b++) {
        let acc = 0;
        for (let a = 0; a < d; a++) acc += q[t * C + hh * d + a] * kv[a * d + b];
        out[t * C + hh * d + b] = acc / zden;
      }
    }
  }
  if (!s.dwc) return out;
  const [H, W] = grid;
  const G = H * W;
  let vg = v.slice(prefix * C);
  if (prefix === 0 && n !== G) {
    const ip = linearInterpolation(n, G);
    vg = new Float64Array(G * C);
    for (let t = 0; t < G; t++) for (let c = 0; c < C; c++) vg[t * C + c] = ip.w0[t] * v[ip.i0[t] * C + c] + ip.w1[t] * v[ip.i1[t] * C + c];
  }
  const ks = s.kernelSize;
  const pad = Math.floor(ks / 2);
  for (let r = 0; r < H; r++)
    for (let c0 = 0; c0 < W; c0++)
      for (let c = 0; c < C; c++) {
        const j = c % d;
        let acc = w.dwc_b[j];
        for (let a = 0; a < ks; a++)
          for (let b = 0; b < ks; b++) {
            const rr = r + a - pad;
            const cc = c0 + b - pad;
            if (rr >= 0 && rr < H && cc >= 0 && cc < W) acc += w.dwc_w[(j * ks + a) * ks + b] * vg[(rr * W + cc) * C + c];
          }
        out[(prefix + r * W + c0) * C + c] += acc;
      }
  return out;
}

async function compare(cfg: {
  C: number;
  heads: number;
  grid: [number, number];
  prefix?: number;
  n?: number;
  p?: number;
  k?: number;
  relu?: boolean;
  dwc?: boolean;
}) {
  const { C, heads, grid } = cfg;
  const prefix = cfg.prefix ?? 0;
  const N = prefix + grid[0] * grid[1];
  const n = cfg.n ?? N;
  const shape = {
    dim: C,
    heads,
    focusingFactor: cfg.p ?? 3,
    kernelSize: cfg.k ?? 5,
    grid,
    keyTokens: n,
    prefixTokens: prefix,
    kernelFunction: cfg.relu ? ('relu' as const) : ('focused' as const),
    dwc: cfg.dwc ?? true,
  };
  const g = new Graph();
  const x = g.input('x', [1, N, C]);
  const xkv = n === N ? x : g.input('xkv', [1, n, C]);
  const qkv = g.within('attn', 'attn', () => declareLinear(g, 'qkv', C, 3 * C));
  const y = g.within('attn', 'attn', () =>
    focusedLinearAttention(g, { x, linear: qkv, from: 0 }, { x: xkv, linear: qkv, from: C }, { x: xkv, linear: qkv, from: 2 * C }, shape),
  );
  g.output(y, 'y');
  const rnd = seededRandom(C * 31 + N);
  const weights = new Map<string, Float32Array>();
  for (const p of g.params.values())
    weights.set(
      p.name,
      new Float32Array(p.shape.reduce((a, b) => a * b, 1)).map(() => (rnd() - 0.5) * (p.name.endsWith('scale') ? 2 : 0.6)),
    );
  const s = await createSession(
    serializeModel(g, (name) => weights.get(name)!),
    { threads: 1 },
  );
  const xin = new Float32Array(N * C).map(() => rnd() * 2 - 1);
  const xkvIn = new Float32Array(n * C).map(() => rnd() * 2 - 1);
  const got = (
    await s.run(
      n === N ? { x: { shape: [1, N, C], data: xin } } : { x: { shape: [1, N, C], data: xin }, xkv: { shape: [1, n, C], data: xkvIn } },
    )
  ).y.data;
  await s.release();
  const f64 = (name: string) => Float64Array.from(weights.get(name) ?? []);
  const ref = reference(
    Float64Array.from(xin),
    Float64Array.from(n === N ? xin : xkvIn),
    {
      qkv_w: f64('attn.qkv.weight'),
      qkv_b: f64('attn.qkv.bias'),
      pe: f64('attn.positional_encoding'),
      scale: f64('attn.scale'),
      dwc_w: f64('attn.dwc.weight'),
      dwc_b: f64('attn.dwc.bias'),
    },
    shape,
    C,
  );
  let max = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    max = Math.max(max, Math.abs(got[i] - ref[i]));
    scale = Math.max(scale, Math.abs(ref[i]));
  }
  return max / scale;
}

describe('focused linear attention agrees with a literal transcription of the official forward', () => {
  it.each([
    ['plain, 2 heads, p = 3, k = 5', { C: 8, heads: 2, grid: [4, 4] as [number, number] }],
    [
      'class token joins the attention, DWC on the grid only (FLatten-DeiT)',
      { C: 6, heads: 3, grid: [3, 3] as [number, number], prefix: 1 },
    ],
    [
      'spatially reduced keys with V interpolated back (PVT sr = 2)',
      { C: 4, heads: 1, grid: [4, 4] as [number, number], n: 4, p: 2, k: 3 },
    ],
    ['plain linear attention (relu kernel), no DWC', { C: 8, heads: 4, grid: [3, 3] as [number, number], relu: true, dwc: false }],
  ])('%s', async (_, cfg) => {
    const rel = await compare(cfg);
    console.log(`[conformance] focused linear attention, ${_}: max relative difference ${rel.toExponential(2)}`);
    expect(rel).toBeLessThan(1e-5);
  });
});
