/**
 * Typed helpers for the ONNX operators flatten-vit uses (opset 17). Each one adds a node and
 * computes its output shape, so a mistake in a reshape or transpose fails while the graph is being
 * built, with the offending names, instead of inside the runtime.
 */
import { type AttrValue, float, type Graph, type Value } from './graph.js';

function fail(g: Graph, op: string, msg: string): never {
  throw new Error(`internal: ${op} in ${g.name('') || 'model'}: ${msg}`);
}

function broadcast(g: Graph, op: string, a: number[], b: number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) fail(g, op, `cannot broadcast (${a}) with (${b})`);
    out.push(x === 1 ? y : x);
  }
  return out;
}

const normAxis = (axis: number, rank: number) => (axis < 0 ? axis + rank : axis);

function binary(op: string) {
  return (g: Graph, a: Value, b: Value): Value => g.node(op, [a, b], {}, [broadcast(g, op, g.shape(a), g.shape(b))])[0];
}

function unary(op: string) {
  return (g: Graph, x: Value): Value => g.node(op, [x], {}, [g.shape(x)])[0];
}

export const add = binary('Add');
export const sub = binary('Sub');
export const mul = binary('Mul');
export const div = binary('Div');
export const relu = unary('Relu');
export const erf = unary('Erf');
export const reciprocal = unary('Reciprocal');
export const sqrt = unary('Sqrt');
export const neg = unary('Neg');
export const exp = unary('Exp');
export const log = unary('Log');
export const softplus = unary('Softplus');
export const sigmoid = unary('Sigmoid');

/** Numpy-style matrix product with batch broadcasting. */
export function matmul(g: Graph, a: Value, b: Value): Value {
  const sa = g.shape(a);
  const sb = g.shape(b);
  if (sa[sa.length - 1] !== sb[sb.length - 2]) fail(g, 'MatMul', `inner dimensions differ: (${sa}) @ (${sb})`);
  const batch = broadcast(g, 'MatMul', sa.slice(0, -2), sb.slice(0, -2));
  return g.node('MatMul', [a, b], {}, [[...batch, sa[sa.length - 2], sb[sb.length - 1]]])[0];
}

/**
 * Reshape. `shape` may use `-1` once and `0` to copy a dimension; the traced shape is checked, and
 * the batch dimension must be written as `-1` or `0` so that the graph works for any batch.
 */
export function reshape(g: Graph, x: Value, shape: readonly number[]): Value {
  const sx = g.shape(x);
  const total = sx.reduce((p, d) => p * d, 1);
  const out = shape.map((d, i) => (d === 0 ? sx[i] : d));
  const known = out.filter((d) => d !== -1).reduce((p, d) => p * d, 1);
  const inferred = out.map((d) => (d === -1 ? total / known : d));
  if (inferred.reduce((p, d) => p * d, 1) !== total || !inferred.every(Number.isInteger)) {
    fail(g, 'Reshape', `cannot reshape (${sx}) to (${shape})`);
  }
  return g.node('Reshape', [x, g.ints(shape)], {}, [inferred])[0];
}

/** Transpose with an explicit permutation. */
export function transpose(g: Graph, x: Value, perm: readonly number[]): Value {
  const sx = g.shape(x);
  if (perm.length !== sx.length) fail(g, 'Transpose', `perm (${perm}) does not fit rank ${sx.length}`);
  return g.node('Transpose', [x], { perm }, [perm.map((p) => sx[p])])[0];
}

/** 2-D convolution, NCHW, weight (O, I/groups, kh, kw). */
export function conv(g: Graph, x: Value, w: Value, b: Value | null, opts: { stride?: number; pad?: number; groups?: number }): Value {
  const [n, c, h, wd] = g.shape(x);
  const [o, ig, kh, kw] = g.shape(w);
  const stride = opts.stride ?? 1;
  const pad = opts.pad ?? 0;
  const groups = opts.groups ?? 1;
  if (ig * groups !== c) fail(g, 'Conv', `weight (${g.shape(w)}) with ${groups} groups does not fit ${c} channels`);
  const oh = Math.floor((h + 2 * pad - kh) / stride) + 1;
  const ow = Math.floor((wd + 2 * pad - kw) / stride) + 1;
  if (oh < 1 || ow < 1) fail(g, 'Conv', `input ${h}x${wd} is smaller than the ${kh}x${kw} kernel`);
  const attrs: Record<string, AttrValue> = {
    kernel_shape: [kh, kw],
    strides: [stride, stride],
    pads: [pad, pad, pad, pad],
    group: groups,
  };
  return g.node('Conv', b ? [x, w, b] : [x, w], attrs, [[n, o, oh, ow]])[0];
}

/**
 * LayerNormalization over the last axis. A training graph also keeps its mean and 1/σ outputs, which
 * the backward pass reads.
 */
export function layerNormalization(g: Graph, x: Value, scale: Value, bias: Value, eps: number): Value {
  const sx = g.shape(x);
  const stats = g.training
    ? [
        [...sx.slice(0, -1), 1],
        [...sx.slice(0, -1), 1],
      ]
    : [];
  return g.node('LayerNormalization', [x, scale, bias], { axis: -1, epsilon: float(eps) }, [sx, ...stats])[0];
}

function reduce(op: string) {
  return (g: Graph, x: Value, axes: readonly number[], keepdims = true): Value => {
    const sx = g.shape(x);
    const ax = axes.map((a) => normAxis(a, sx.length));
    const out = keepdims ? sx.map((d, i) => (ax.includes(i) ? 1 : d)) : sx.filter((_, i) => !ax.includes(i));
    if (op === 'ReduceSum') return g.node(op, [x, g.ints(axes)], { keepdims: keepdims ? 1 : 0 }, [out])[0];
    return g.node(op, [x], { axes, keepdims: keepdims ? 1 : 0 }, [out])[0];
  };
}

export const reduceMean = reduce('ReduceMean');
export const reduceMax = reduce('ReduceMax');
export const reduceL2 = reduce('ReduceL2');
export const reduceSum = reduce('ReduceSum');

/** Softmax along one axis. */
export function softmax(g: Graph, x: Value, axis = -1): Value {
  return g.node('Softmax', [x], { axis }, [g.shape(x)])[0];
}

/** Gathers along `axis` with a constant index list. */
export function gather(g: Graph, x: Value, indices: readonly number[], axis: number): Value {
  const sx = g.shape(x);
  const ax = normAxis(axis, sx.length);
  if (indices.some((i) => i < 0 || i >= sx[ax])) fail(g, 'Gather', `index out of range for axis of ${sx[ax]}`);
  const out = sx.map((d, i) => (i === ax ? indices.length : d));
  return g.node('Gather', [x, g.ints(indices)], { axis: ax }, [out])[0];
}

/** Concatenation along one axis. */
export function concat(g: Graph, xs: readonly Value[], axis: number): Value {
  const shapes = xs.map((x) => g.shape(x));
  const ax = normAxis(axis, shapes[0].length);
  const out = [...shapes[0]];
  out[ax] = shapes.reduce((p, s) => p + s[ax], 0);
  return g.node('Concat', xs, { axis: ax }, [out])[0];
}

/**
 * The most tensors one node may read and write on WebGPU: its providers bind each as a storage buffer,
 * and WebGPU guarantees only 8 per shader (SwiftShader allows 12; a Concat of 13 failed there).
 */
export const MAX_NODE_BUFFERS = 8;

/**
 * Concatenation of any number of values along one axis, as a tree of Concats of at most
 * {@link MAX_NODE_BUFFERS} − 1 inputs each, so that every node runs on WebGPU.
 */
export function concatMany(g: Graph, xs: readonly Value[], axis: number): Value {
  const k = MAX_NODE_BUFFERS - 1;
  if (xs.length <= k) return xs.length === 1 ? xs[0] : concat(g, xs, axis);
  const parts: Value[] = [];
  for (let i = 0; i < xs.length; i += k) parts.push(concatMany(g, xs.slice(i, i + k), axis));
  return concatMany(g, parts, axis);
}

/** Slices `[start, end)` along one axis. */
export function slice(g: Graph, x: Value, axis: number, start: number, end: number): Value {
  const sx = g.shape(x);
  const ax = normAxis(axis, sx.length);
  const out = sx.map((d, i) => (i === ax ? end - start : d));
  return g.node('Slice', [x, g.ints([start]), g.ints([end]), g.ints([ax])], {}, [out])[0];
}

/** Splits along one axis into pieces of the given sizes. */
export function split(g: Graph, x: Value, axis: number, sizes: readonly number[]): Value[] {
  const sx = g.shape(x);
  const ax = normAxis(axis, sx.length);
  if (sizes.reduce((p, s) => p + s, 0) !== sx[ax]) fail(g, 'Split', `sizes (${sizes}) do not add up to ${sx[ax]}`);
  const shapes = sizes.map((s) => sx.map((d, i) => (i === ax ? s : d)));
  return g.node('Split', [x, g.ints(sizes)], { axis: ax }, shapes);
}

/**
 * Repeats a (1, ...) tensor along the batch axis to the batch size of `like` (same rank; dynamic
 * batch). Inference graphs add it to a zero of shape (B, 1, ..., 1) taken from `like`, so that no
 * shape arithmetic (Shape, Concat, Expand's shape input) runs on the CPU beside a GPU provider; a
 * non-finite `like` makes that zero NaN, where the model's output is NaN anyway.
 */
export function expandToBatch(g: Graph, x: Value, like: Value): Value {
  const sx = g.shape(x);
  const sl = g.shape(like);
  if (sl.length !== sx.length) fail(g, 'Expand', `the batch source has rank ${sl.length}, not ${sx.length}`);
  const full = [sl[0], ...sx.slice(1)];
  if (g.training) return g.node('Expand', [x, g.ints(full)], {}, [full])[0]; // the batch is fixed
  const axes = sl.map((_, i) => i).slice(1);
  const first = g.node('Slice', [like, g.ints(axes.map(() => 0)), g.ints(axes.map(() => 1)), g.ints(axes)], {}, [
    [sl[0], ...axes.map(() => 1)],
  ])[0]; // (B, 1, ..., 1)
  return add(g, mul(g, first, g.constant('zero', [], [0])), x); // (B, ...)
}
