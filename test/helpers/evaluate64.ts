/**
 * Test helper: a plain float64 interpreter of the forward operators a training graph uses, written
 * from the ONNX operator definitions and independent of onnxruntime. The gradient checks evaluate
 * the loss with it at w ± h·v (onnxruntime has no float64 Conv, Erf or Softplus kernels).
 */
import type { Graph, GraphNode, Value } from '../../src/graph/graph.js';

/** A float64 tensor. */
export interface T64 {
  shape: number[];
  data: Float64Array;
}

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const strides = (s: readonly number[]) => {
  const out = new Array<number>(s.length);
  let acc = 1;
  for (let i = s.length - 1; i >= 0; i--) {
    out[i] = acc;
    acc *= s[i];
  }
  return out;
};

/** Visits every index of `shape`, calling fn(flat index, multi-index). */
function each(shape: readonly number[], fn: (flat: number, idx: number[]) => void): void {
  const n = size(shape);
  const idx = new Array<number>(shape.length).fill(0);
  for (let f = 0; f < n; f++) {
    fn(f, idx);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
}

/** Reads `t` at a broadcast index of an output of rank `rank`. */
function at(t: T64, st: number[], idx: number[]): number {
  const off = idx.length - t.shape.length;
  let f = 0;
  for (let i = 0; i < t.shape.length; i++) f += (t.shape[i] === 1 ? 0 : idx[i + off]) * st[i];
  return t.data[f];
}

function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  return Array.from({ length: n }, (_, i) => {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    return x === 1 ? y : x;
  });
}

function elementwise(ts: T64[], f: (...x: number[]) => number): T64 {
  const shape = ts.map((t) => t.shape).reduce(broadcastShape);
  const sts = ts.map((t) => strides(t.shape));
  const data = new Float64Array(size(shape));
  each(shape, (k, idx) => (data[k] = f(...ts.map((t, i) => at(t, sts[i], idx)))));
  return { shape, data };
}

function erf(x: number): number {
  // series for |x| < 3, continued fraction tail beyond: float64-accurate
  const ax = Math.abs(x);
  if (ax < 3) {
    let sum = ax;
    let term = ax;
    for (let n = 1; n < 200; n++) {
      term *= (-ax * ax) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return Math.sign(x) * ((2 / Math.sqrt(Math.PI)) * sum);
  }
  let cf = 0;
  for (let n = 60; n >= 1; n--) cf = n / 2 / (ax + cf);
  return Math.sign(x) * (1 - Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + cf));
}

function transpose(t: T64, perm: readonly number[]): T64 {
  const shape = perm.map((p) => t.shape[p]);
  const st = strides(t.shape);
  const data = new Float64Array(t.data.length);
  each(shape, (k, idx) => {
    let f = 0;
    for (let i = 0; i < perm.length; i++) f += idx[i] * st[perm[i]];
    data[k] = t.data[f];
  });
  return { shape, data };
}

function reduce(t: T64, axes: readonly number[], keep: boolean, init: number, step: (acc: number, x: number) => number): T64 {
  const r = t.shape.length;
  const ax = axes.map((a) => (a < 0 ? a + r : a));
  const kept = t.shape.map((d, i) => (ax.includes(i) ? 1 : d));
  const data = new Float64Array(size(kept)).fill(init);
  const ks = strides(kept);
  each(t.shape, (f, idx) => {
    let o = 0;
    for (let i = 0; i < r; i++) if (!ax.includes(i)) o += idx[i] * ks[i];
    data[o] = step(data[o], t.data[f]);
  });
  return { shape: keep ? kept : t.shape.filter((_, i) => !ax.includes(i)), data };
}

function matmul(a: T64, b: T64): T64 {
  const [M, K] = a.shape.slice(-2);
  const N = b.shape[b.shape.length - 1];
  const batch = broadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const out = new Float64Array(size(batch) * M * N);
  const aB = { shape: a.shape.slice(0, -2), data: new Float64Array() };
  const bB = { shape: b.shape.slice(0, -2), data: new Float64Array() };
  const aSt = strides(aB.shape);
  const bSt = strides(bB.shape);
  each(batch, (k, idx) => {
    const off = (t: { shape: number[] }, st: number[]) => {
      const o = idx.length - t.shape.length;
      let f = 0;
      for (let i = 0; i < t.shape.length; i++) f += (t.shape[i] === 1 ? 0 : idx[i + o]) * st[i];
      return f;
    };
    const ao = off(aB, aSt) * M * K;
    const bo = off(bB, bSt) * K * N;
    for (let m = 0; m < M; m++)
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let q = 0; q < K; q++) s += a.data[ao + m * K + q] * b.data[bo + q * N + n];
        out[(k * M + m) * N + n] = s;
      }
  });
  return { shape: [...batch, M, N], data: out };
}

function conv(x: T64, w: T64, b: T64 | undefined, n: GraphNode): T64 {
  const [N, C, H, W] = x.shape;
  const [O, Cg, kh, kw] = w.shape;
  const [s] = n.attrs.strides as number[];
  const pads = n.attrs.pads as number[];
  const group = n.attrs.group as number;
  const dil = (n.attrs.dilations as number[] | undefined)?.[0] ?? 1;
  const oh = Math.floor((H + pads[0] + pads[2] - dil * (kh - 1) - 1) / s) + 1;
  const ow = Math.floor((W + pads[1] + pads[3] - dil * (kw - 1) - 1) / s) + 1;
  const out = new Float64Array(N * O * oh * ow);
  const perGroup = O / group;
  for (let bn = 0; bn < N; bn++)
    for (let o = 0; o < O; o++) {
      const g0 = Math.floor(o / perGroup) * Cg;
      for (let y = 0; y < oh; y++)
        for (let xx = 0; xx < ow; xx++) {
          let acc = b ? b.data[o] : 0;
          for (let c = 0; c < Cg; c++)
            for (let i = 0; i < kh; i++) {
              const yy = y * s + i * dil - pads[0];
              if (yy < 0 || yy >= H) continue;
              for (let j = 0; j < kw; j++) {
                const x2 = xx * s + j * dil - pads[1];
                if (x2 < 0 || x2 >= W) continue;
                acc += x.data[((bn * C + g0 + c) * H + yy) * W + x2] * w.data[((o * Cg + c) * kh + i) * kw + j];
              }
            }
          out[((bn * O + o) * oh + y) * ow + xx] = acc;
        }
    }
  return { shape: [N, O, oh, ow], data: out };
}

function ints(t: T64): number[] {
  return Array.from(t.data, Math.round);
}

type Impl = (n: GraphNode, x: T64[]) => T64[];

const IMPL: Record<string, Impl> = {
  Identity: (_, [x]) => [x],
  Add: (_, x) => [elementwise(x, (a, b) => a + b)],
  Sub: (_, x) => [elementwise(x, (a, b) => a - b)],
  Mul: (_, x) => [elementwise(x, (a, b) => a * b)],
  Div: (_, x) => [elementwise(x, (a, b) => a / b)],
  Pow: (_, x) => [elementwise(x, (a, b) => a ** b)],
  Relu: (_, x) => [elementwise(x, (a) => Math.max(a, 0))],
  Softplus: (_, x) => [elementwise(x, (a) => (a > 30 ? a : Math.log1p(Math.exp(a))))],
  Sigmoid: (_, x) => [elementwise(x, (a) => 1 / (1 + Math.exp(-a)))],
  Erf: (_, x) => [elementwise(x, erf)],
  Gelu: (_, x) => [elementwise(x, (a) => 0.5 * a * (1 + erf(a / Math.SQRT2)))],
  Exp: (_, x) => [elementwise(x, Math.exp)],
  Log: (_, x) => [elementwise(x, Math.log)],
  Neg: (_, x) => [elementwise(x, (a) => -a)],
  Reciprocal: (_, x) => [elementwise(x, (a) => 1 / a)],
  Sqrt: (_, x) => [elementwise(x, Math.sqrt)],
  // booleans as 0 and 1: what the training graphs' masks and zeros (schedule.ts) compute
  Greater: (_, x) => [elementwise(x, (a, b) => (a > b ? 1 : 0))],
  Less: (_, x) => [elementwise(x, (a, b) => (a < b ? 1 : 0))],
  Cast: (n, [x]) => {
    if (n.attrs.to !== 1) throw new Error(`evaluate64: Cast to ${String(n.attrs.to)}`);
    return [x];
  },
  MatMul: (_, [a, b]) => [matmul(a, b)],
  Transpose: (n, [x]) => [transpose(x, n.attrs.perm as number[])],
  Reshape: (n, [x, s]) => {
    const want = ints(s).map((d, i) => (d === 0 ? x.shape[i] : d));
    const known = want.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    return [{ shape: want.map((d) => (d === -1 ? x.data.length / known : d)), data: x.data }];
  },
  Expand: (_, [x, s]) => [elementwise([x, { shape: ints(s), data: new Float64Array(size(ints(s))) }], (a) => a)],
  Tile: (_, [x, r]) => {
    const reps = ints(r);
    const shape = x.shape.map((d, i) => d * reps[i]);
    const st = strides(x.shape);
    const data = new Float64Array(size(shape));
    each(shape, (k, idx) => (data[k] = x.data[idx.reduce((f, v, i) => f + (v % x.shape[i]) * st[i], 0)]));
    return [{ shape, data }];
  },
  Gather: (n, [x, ix]) => {
    const axis = n.attrs.axis as number;
    const list = ints(ix);
    const shape = x.shape.map((d, i) => (i === axis ? list.length : d));
    const st = strides(x.shape);
    const data = new Float64Array(size(shape));
    each(shape, (k, idx) => (data[k] = x.data[idx.reduce((f, v, i) => f + (i === axis ? list[v] : v) * st[i], 0)]));
    return [{ shape, data }];
  },
  Concat: (n, xs) => {
    const axis = n.attrs.axis as number;
    const shape = [...xs[0].shape];
    shape[axis] = xs.reduce((s, t) => s + t.shape[axis], 0);
    const data = new Float64Array(size(shape));
    const starts = xs.map((_, i) => xs.slice(0, i).reduce((s, t) => s + t.shape[axis], 0));
    each(shape, (k, idx) => {
      let j = starts.length - 1;
      while (starts[j] > idx[axis]) j--;
      const t = xs[j];
      const local = idx.map((v, i) => (i === axis ? v - starts[j] : v));
      data[k] = t.data[local.reduce((f, v, i) => f + v * strides(t.shape)[i], 0)];
    });
    return [{ shape, data }];
  },
  Split: (n, [x, sz]) => {
    const axis = n.attrs.axis as number;
    let start = 0;
    return ints(sz).map((len) => {
      const out = IMPL.Slice(n, [x, vec([start]), vec([start + len]), vec([axis])])[0];
      start += len;
      return out;
    });
  },
  Slice: (_, [x, s, e, a]) => {
    const axis = ints(a)[0];
    const start = ints(s)[0];
    const end = Math.min(ints(e)[0], x.shape[axis]);
    const shape = x.shape.map((d, i) => (i === axis ? end - start : d));
    const st = strides(x.shape);
    const data = new Float64Array(size(shape));
    each(shape, (k, idx) => (data[k] = x.data[idx.reduce((f, v, i) => f + (i === axis ? v + start : v) * st[i], 0)]));
    return [{ shape, data }];
  },
  Pad: (_, [x, p]) => {
    const pads = ints(p);
    const r = x.shape.length;
    const shape = x.shape.map((d, i) => d + pads[i] + pads[r + i]);
    const data = new Float64Array(size(shape));
    const st = strides(shape);
    each(x.shape, (f, idx) => (data[idx.reduce((o, v, i) => o + (v + pads[i]) * st[i], 0)] = x.data[f]));
    return [{ shape, data }];
  },
  ReduceSum: (n, [x, a]) => [reduce(x, ints(a), n.attrs.keepdims === 1, 0, (s, v) => s + v)],
  ReduceMean: (n, [x]) => {
    const axes = n.attrs.axes as number[];
    const r = reduce(x, axes, n.attrs.keepdims === 1, 0, (s, v) => s + v);
    const count = axes.reduce((p, ax) => p * x.shape[ax < 0 ? ax + x.shape.length : ax], 1);
    return [{ shape: r.shape, data: r.data.map((v) => v / count) }];
  },
  ReduceL2: (n, [x]) => {
    const r = reduce(x, n.attrs.axes as number[], n.attrs.keepdims === 1, 0, (s, v) => s + v * v);
    return [{ shape: r.shape, data: r.data.map(Math.sqrt) }];
  },
  Softmax: (n, [x]) => [softmax(x, n.attrs.axis as number)],
  ReduceMax: (n, [x]) => [reduce(x, n.attrs.axes as number[], n.attrs.keepdims === 1, -Infinity, Math.max)],
  LayerNormalization: (n, [x, g, b]) => {
    const eps = (n.attrs.epsilon as { value: number }).value;
    const C = x.shape[x.shape.length - 1];
    const data = new Float64Array(x.data.length);
    for (let r = 0; r < x.data.length / C; r++) {
      let m = 0;
      for (let c = 0; c < C; c++) m += x.data[r * C + c];
      m /= C;
      let v = 0;
      for (let c = 0; c < C; c++) v += (x.data[r * C + c] - m) ** 2;
      const inv = 1 / Math.sqrt(v / C + eps);
      for (let c = 0; c < C; c++) data[r * C + c] = (x.data[r * C + c] - m) * inv * g.data[c] + b.data[c];
    }
    return [{ shape: x.shape, data }];
  },
  Conv: (n, [x, w, b]) => [conv(x, w, b, n)],
  // onnxruntime's blocked-layout reorders (src/graph/nchwc.ts): the same values in the same shape,
  // held in another order in memory; the blocked Conv beside them is the Conv above
  ReorderInput: (_, [x]) => [x],
  ReorderOutput: (_, [x]) => [x],
};

function softmax(x: T64, axis: number): T64 {
  const ax = axis < 0 ? axis + x.shape.length : axis;
  const moved = transpose(x, [...x.shape.keys()].filter((i) => i !== ax).concat(ax));
  const L = x.shape[ax];
  const d = moved.data.slice();
  for (let r = 0; r < d.length / L; r++) {
    let m = -Infinity;
    for (let c = 0; c < L; c++) m = Math.max(m, d[r * L + c]);
    let s = 0;
    for (let c = 0; c < L; c++) s += Math.exp(d[r * L + c] - m);
    for (let c = 0; c < L; c++) d[r * L + c] = Math.exp(d[r * L + c] - m) / s;
  }
  const back = [...x.shape.keys()].filter((i) => i !== ax);
  const perm = new Array<number>(x.shape.length);
  back.concat(ax).forEach((p, i) => (perm[p] = i));
  return transpose({ shape: moved.shape, data: d }, perm);
}

const vec = (v: number[]): T64 => ({ shape: [v.length], data: Float64Array.from(v) });

/**
 * Evaluates `outputs` of the forward part of `g` in float64. `inputs` are the graph inputs;
 * initializers are read from the graph (float32 constants widened).
 */
export function evaluate64(g: Graph, inputs: ReadonlyMap<Value, T64>, outputs: readonly Value[]): Map<Value, T64> {
  const env = new Map<Value, T64>(inputs);
  const value = (v: Value): T64 => {
    const known = env.get(v);
    if (known) return known;
    const init = g.initializers.get(v);
    if (!init) throw new Error(`evaluate64: no value for ${v}`);
    const raw = init.data(() => {
      throw new Error(`evaluate64: ${v} reads weights`);
    });
    const t = { shape: [...init.dims], data: Float64Array.from(raw as ArrayLike<number>, Number) };
    env.set(v, t);
    return t;
  };
  const needed = new Set(outputs);
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i];
    if (n.outputs.some((o) => needed.has(o))) for (const x of n.inputs) needed.add(x);
  }
  for (const n of g.nodes) {
    if (!n.outputs.some((o) => needed.has(o)) || n.outputs.every((o) => env.has(o))) continue;
    const impl = IMPL[n.op];
    if (!impl) throw new Error(`evaluate64: no float64 implementation of ${n.op}`);
    const res = impl(n, n.inputs.filter((x) => x !== '').map(value));
    res.forEach((t, k) => env.set(n.outputs[k], t));
  }
  return new Map(outputs.map((o) => [o, value(o)]));
}
