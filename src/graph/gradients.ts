/**
 * The gradient of every ONNX operator a training graph uses, one rule per operator in one table,
 * each beside its forward (like PyTorch's `derivatives.yaml` and onnxruntime's gradient builder
 * registry). A rule receives the forward node and the gradients of its outputs and adds the nodes
 * that compute the gradients of the inputs it is asked for. Every rule is checked against finite
 * differences (test/graph/gradients.test.ts).
 *
 * Training graphs have fixed shapes (see `TrainingTrace`), so a rule may read any shape it needs
 * from the traced shapes; broadcasting in the forward is undone by summing in the backward.
 */
import { type AttrValue, type Graph, type GraphNode, type Value } from './graph.js';
import { onesRow } from './layers.js';
import { blockedChannels } from './nchwc.js';
import * as op from './ops.js';

/** What a rule works with. */
export interface GradContext {
  readonly g: Graph;
  readonly node: GraphNode;
  /** The gradient of each output, or null where no gradient flows back into that output. */
  readonly dy: readonly (Value | null)[];
  /** Which inputs need a gradient. */
  readonly wants: readonly boolean[];
}

/** A gradient rule: for each input, its gradient (null where not wanted or not defined). */
export type GradRule = (c: GradContext) => (Value | null)[];

const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/** A float scalar constant. */
const scalar = (g: Graph, v: number): Value => g.constant('c', [], [v]);

/** An integer-list attribute of a node. */
const ints = (n: GraphNode, name: string): number[] => n.attrs[name] as number[];

/** The values of an int64 constant input (axes, sizes, indices), read back from its initializer. */
function constInts(g: Graph, v: Value): number[] {
  const init = g.initializers.get(v);
  if (!init || init.dtype !== 'int64') throw new Error(`internal: gradient needs ${v} to be an int64 constant`);
  return Array.from(init.data(() => new Float32Array()) as BigInt64Array, Number);
}

/**
 * Sums `dy` (shaped like the broadcast output) down to `shape`: over leading axes the input lacks and
 * over axes where the input has 1.
 */
export function unbroadcast(g: Graph, dy: Value, shape: readonly number[]): Value {
  const so = g.shape(dy);
  if (same(so, shape)) return dy;
  const lead = so.length - shape.length;
  const axes = so.map((_, i) => i).filter((i) => i < lead || (shape[i - lead] === 1 && so[i] !== 1));
  const summed = !axes.length ? dy : isPrefix(axes) ? sumLeading(g, dy, axes.length, true) : op.reduceSum(g, dy, axes, true);
  return same(g.shape(summed), shape) ? summed : op.reshape(g, summed, shape);
}

/** True for axes 0, 1, …, k − 1. */
const isPrefix = (axes: readonly number[]): boolean => axes.every((a, i) => a === i);

/**
 * The sum of x over its first k axes (kept as 1s with `keepdims`), as a product with a row of ones, (1, R) @ (R, rest):
 * onnxruntime's CPU provider runs that sum as a ReduceSum at a third to half the rate (timed alone with
 * the pass that computes x: a bias gradient over Swin-T's stage-1 tokens, (100352, 384), 56 → 33 ms;
 * (25088, 768) 32 → 16 ms; over the batch of (32, 301056) 32 → 8.5 ms).
 */
function sumLeading(g: Graph, x: Value, k: number, keepdims: boolean): Value {
  const s = g.shape(x);
  const R = s.slice(0, k).reduce((p, d) => p * d, 1);
  const rest = s.slice(k);
  const sum = op.matmul(g, onesRow(g, R), op.reshape(g, x, [R, rest.reduce((p, d) => p * d, 1)])); // (1, rest…)
  return op.reshape(g, sum, keepdims ? [...s.slice(0, k).map(() => 1), ...rest] : rest); // (1…, rest…) or (rest…)
}

/** Swaps the last two axes. */
function transposeLast(g: Graph, x: Value): Value {
  const r = g.shape(x).length;
  const perm = [...Array(r).keys()];
  [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
  return op.transpose(g, x, perm);
}

/**
 * The gradient of a weight on the left of a batched product, y = a @ b with a (M, K) and b (B, K, N):
 * da = Σ_b dy_b · b_bᵀ. Where the per-sample products (B, M, K) outweigh the operands
 * (M·K ≥ (M + K)·N: few tokens, wide layers, as in the last stages), dy is moved batch-inside,
 * (M, B·N), for one Gemm whose inner dimension is the whole batch, with b read as the token-major
 * (B·N, K) it was transposed from where it was; otherwise the per-sample products are summed over
 * the batch. Timed alone at batch 32, the Gemm took 0.24–0.69× the time of the summed products in
 * PVTv2-B0's last stage (M·K/((M + K)·N) = 2.6–4.2) and mostly more in its first two (0.01–0.07).
 */
function leftWeightGrad(g: Graph, dy: Value, b: Value): Value {
  const [M, N] = g.shape(dy).slice(-2);
  const sb = g.shape(b);
  const K = sb[sb.length - 2];
  const batch = sb.slice(0, -2).reduce((p, s) => p * s, 1);
  if (M * K < (M + K) * N) return unbroadcast(g, op.matmul(g, dy, transposeLast(g, b)), [M, K]);
  const inside = op.reshape(g, op.transpose(g, op.reshape(g, dy, [batch, M, N]), [1, 0, 2]), [M, batch * N]); // (M, B·N)
  const from = g.nodes.find((n) => n.outputs[0] === b);
  if (sb.length === 3 && from?.op === 'Transpose' && same(ints(from, 'perm'), [0, 2, 1])) {
    const tokens = op.reshape(g, from.inputs[0], [batch * N, K]); // (B·N, K)
    return g.node('Gemm', [inside, tokens], {}, [[M, K]])[0]; // (M, K)
  }
  const bInside = op.reshape(g, op.transpose(g, op.reshape(g, b, [batch, K, N]), [1, 0, 2]), [K, batch * N]); // (K, B·N)
  return g.node('Gemm', [inside, bInside], { transB: 1 }, [[M, K]])[0]; // (M, K)
}

/** dy broadcast back over the axes a keepdims reduction removed. */
function expandBack(g: Graph, dy: Value, axes: readonly number[], xShape: readonly number[]): Value {
  const keep = xShape.map((d, i) => (axes.includes(i) ? 1 : d));
  const k = same(g.shape(dy), keep) ? dy : op.reshape(g, dy, keep);
  return g.node('Expand', [k, g.ints(xShape)], {}, [[...xShape]])[0];
}

function reduceAxes(g: Graph, n: GraphNode, rank: number): number[] {
  const axes = n.op === 'ReduceSum' ? constInts(g, n.inputs[1]) : ints(n, 'axes');
  return axes.map((a) => (a < 0 ? a + rank : a));
}

/** The gradient of `Conv` with respect to its weight (groups 1, or depthwise). */
function convWeightGrad(g: Graph, n: GraphNode, x: Value, dy: Value): Value {
  const [N, Ci, H, W] = g.shape(x);
  const [O, Cg, kh, kw] = g.shape(n.inputs[1]);
  const [, , oh, ow] = g.shape(dy);
  const [s] = ints(n, 'strides');
  const pads = ints(n, 'pads');
  const group = n.attrs.group as number;
  if (group === 1) return denseConvWeightGrad(g, x, dy, [kh, kw], s, pads);
  if (group !== Ci || O !== Ci || Cg !== 1) throw new Error(`internal: no weight gradient for a Conv with ${group} groups`);
  // on onnxruntime's blocked CPU kernels (nchwc.ts lowers it), the per-(sample, channel) conv below
  const blocked = g.training?.nchwc === true && blockedChannels(Ci);
  if (!blocked && s === 1 && kh === kw && pads.every((p) => 2 * p === kh - 1)) return sameDepthwiseWeightGrad(g, x, dy, kh);
  const crop = (t: Value) => {
    const [, , th, tw] = g.shape(t);
    return th === kh && tw === kw ? t : op.slice(g, op.slice(g, t, 2, 0, kh), 3, 0, kw);
  };
  const attrs = (groupCount: number, k: [number, number]): Record<string, AttrValue> => ({
    kernel_shape: k,
    dilations: [s, s],
    strides: [1, 1],
    pads,
    group: groupCount,
  });
  const outSize = (inSize: number, p0: number, p1: number, o: number) => inSize + p0 + p1 - (o - 1) * s;
  // depthwise: one group per (sample, channel), dy as its kernel, then summed over the batch. On the
  // blocked kernels this took 0.30–0.68 of the time of one conv over the samples stacked as one
  // image, the form before it (PVTv2-B0's four MLP stages and Swin-T's DWC at batch 32, each timed
  // alone with its reorders), and reads x and dy as they are, where stacking transposed both
  const xs = op.reshape(g, x, [1, N * Ci, H, W]); // (1, N·C, H, W)
  const ws = op.reshape(g, dy, [N * Ci, 1, oh, ow]); // (N·C, 1, oh, ow)
  const shape = [1, N * Ci, outSize(H, pads[0], pads[2], oh), outSize(W, pads[1], pads[3], ow)];
  const c = crop(g.node('Conv', [xs, ws], attrs(N * Ci, [oh, ow]), [shape])[0]); // (1, N·C, kh, kw)
  const perSample = op.reshape(g, c, [N, Ci, kh, kw]); // (N, C, kh, kw)
  return op.reshape(g, sumLeading(g, perSample, 1, false), [O, 1, kh, kw]); // (C, 1, kh, kw)
}

/**
 * The weight gradient of a dense (groups 1) conv as one product over the whole batch:
 * dW[o, c, i, j] = Σ_{n,y,x} dy[n, o, y, x] · xpad[n, c, y·s + i, x·s + j]. The padded input is
 * split once into its s² phases (space-to-depth), where tap (i, j) is the contiguous window at
 * phase (i mod s, j mod s), offset (i div s, j div s); the k² windows, stacked, are the im2col
 * matrix (k²·C × N·oh·ow), and one Gemm with dy (O × N·oh·ow) gives every tap. The conv over the
 * batch with dy as a dilated kernel, which this replaces, ran at a tenth of the GEMM rate for
 * strided convs (PVTv2-B0's second patch embedding at batch 32: 85 ms, against 29 ms this way).
 */
function denseConvWeightGrad(g: Graph, x: Value, dy: Value, [kh, kw]: [number, number], s: number, pads: number[]): Value {
  const [N, C, H, W] = g.shape(x);
  const [, O, oh, ow] = g.shape(dy);
  // bottom and right padded on to a multiple of s: rows no tap reads
  const [Hs, Ws] = [Math.ceil((H + pads[0] + pads[2]) / s), Math.ceil((W + pads[1] + pads[3]) / s)];
  const padded = [0, 0, pads[0], pads[1], 0, 0, Hs * s - H - pads[0], Ws * s - W - pads[1]];
  const xp = padded.some((p) => p !== 0) ? g.node('Pad', [x, g.ints(padded)], {}, [[N, C, Hs * s, Ws * s]])[0] : x; // (N, C, Hs·s, Ws·s)
  // space-to-depth by hand, with the batch moved behind the phases in the same Transpose (the WebGPU
  // provider has no SpaceToDepth); the Reshape after it keeps onnxruntime from moving the Transpose
  // below the slices, which would then read every s-th float
  let phased: Value;
  if (g.training?.nchwc && s > 1) {
    // on the CPU, SpaceToDepth and a transpose of whole (Hs, Ws) planes: 0.3–0.9 of the time of the
    // one transpose below, which gathers single floats (PVTv2-B0's patch embeddings at batch 32)
    const depth = g.node('SpaceToDepth', [xp], { blocksize: s }, [[N, s * s * C, Hs, Ws]])[0]; // (N, s·s·C, Hs, Ws), depth (i, j, c)
    phased = op.transpose(g, op.reshape(g, depth, [N, s, s, C, Hs, Ws]), [3, 1, 2, 0, 4, 5]); // (C, s, s, N, Hs, Ws)
  } else {
    const split = op.reshape(g, xp, [N, C, Hs, s, Ws, s]); // (N, C, Hs, s, Ws, s)
    phased = op.transpose(g, split, [1, 3, 5, 0, 2, 4]); // (C, s, s, N, Hs, Ws)
  }
  const phases = op.reshape(g, phased, [C, s * s * N, Hs, Ws]); // (C, s²·N, Hs, Ws), phase-major
  const taps: Value[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const [phase, r, c] = [(i % s) * s + (j % s), Math.floor(i / s), Math.floor(j / s)];
      const starts = g.ints([phase * N, r, c]);
      const ends = g.ints([phase * N + N, r + oh, c + ow]);
      taps.push(g.node('Slice', [phases, starts, ends, g.ints([1, 2, 3])], {}, [[C, N, oh, ow]])[0]); // (C, N, oh, ow)
    }
  }
  const cols = op.reshape(g, taps.length === 1 ? taps[0] : op.concat(g, taps, 0), [kh * kw * C, N * oh * ow]); // (k²·C, N·oh·ow)
  const dyr = op.reshape(g, op.transpose(g, dy, [1, 0, 2, 3]), [O, N * oh * ow]); // (O, N·oh·ow)
  const dw = g.node('Gemm', [dyr, cols], { transB: 1 }, [[O, kh * kw * C]])[0]; // (O, k²·C)
  return op.transpose(g, op.reshape(g, dw, [O, kh, kw, C]), [0, 3, 1, 2]); // (O, C, kh, kw)
}

/**
 * The weight gradient of a stride-1 depthwise 'same' conv with a k×k kernel:
 * dW[c, i, j] = Σ_{n,y,x} dy[n, c, y, x] · xpad[n, c, y + i, x + j]. For each row offset i, one
 * product per channel over all rows of the batch, M_i = dyᵀ · xpad[rows + i] (W × Wp), whose
 * diagonals x' = x + j sum to dW[c, i, j]. onnxruntime runs this 20–30% faster than the grouped
 * conv with the gradient image as kernel, which it expands nine-fold (k² in general) for its GEMM.
 */
function sameDepthwiseWeightGrad(g: Graph, x: Value, dy: Value, k: number): Value {
  const [N, C, H, W] = g.shape(x);
  const p = (k - 1) / 2;
  const Wp = W + 2 * p;
  const xt = op.transpose(g, x, [1, 0, 2, 3]); // (C, N, H, W)
  const xp = g.node('Pad', [xt, g.ints([0, 0, p, p, 0, 0, p, p])], {}, [[C, N, H + 2 * p, Wp]])[0]; // (C, N, Hp, Wp)
  const dyr = op.reshape(g, op.transpose(g, dy, [1, 0, 2, 3]), [C, N * H, W]); // (C, N·H, W)
  const diagonals: number[] = []; // in M (W × Wp) flattened: (j, x) → x·Wp + x + j
  for (let j = 0; j < k; j++) for (let col = 0; col < W; col++) diagonals.push(col * Wp + col + j);
  const rows = Array.from({ length: k }, (_, i) => {
    const xi = op.reshape(g, op.slice(g, xp, 2, i, i + H), [C, N * H, Wp]); // (C, N·H, Wp): rows shifted by i
    // a Transpose per product, each read once, so that onnxruntime folds it into the product (transA)
    const m = op.matmul(g, op.transpose(g, dyr, [0, 2, 1]), xi); // (C, W, Wp)
    const d = op.gather(g, op.reshape(g, m, [C, W * Wp]), diagonals, 1); // (C, k·W)
    return op.reduceSum(g, op.reshape(g, d, [C, k, W]), [2], true); // (C, k, 1): dW[:, i, :]
  });
  return op.reshape(g, op.concat(g, rows, 1), [C, 1, k, k]); // (C, 1, k, k)
}

/** The gradient of `Conv` with respect to its input: the transposed convolution of dy. */
function convInputGrad(g: Graph, n: GraphNode, dy: Value): Value {
  const xs = g.shape(n.inputs[0]);
  const [, , kh, kw] = g.shape(n.inputs[1]);
  const [, , oh, ow] = g.shape(dy);
  const [s] = ints(n, 'strides');
  const pads = ints(n, 'pads');
  const group = n.attrs.group as number;
  const [O, Cg] = g.shape(n.inputs[1]);
  if (s === 1 && Cg === 1 && group === O && pads.every((p) => p === pads[0]) && kh === kw && 2 * pads[0] === kh - 1) {
    // a stride-1 depthwise 'same' conv: its transpose is the same conv with the kernel flipped
    // (onnxruntime runs it several times faster than the equivalent ConvTranspose)
    const flip = Array.from({ length: kh }, (_, i) => kh - 1 - i);
    const w = op.gather(g, op.gather(g, n.inputs[1], flip, 2), flip, 3); // (C, 1, k, k) rotated by 180°
    return op.conv(g, dy, w, null, { pad: pads[0], groups: group });
  }
  const outPad = [xs[2] - ((oh - 1) * s + kh - pads[0] - pads[2]), xs[3] - ((ow - 1) * s + kw - pads[1] - pads[3])];
  return g.node(
    'ConvTranspose',
    [dy, n.inputs[1]],
    { kernel_shape: [kh, kw], strides: [s, s], pads, group: n.attrs.group as number, output_padding: outPad },
    [[...xs]],
  )[0];
}

/** Gradient of a Gather with constant indices: the inverse permutation, or a scatter-add. */
function gatherGrad(g: Graph, n: GraphNode, dy: Value): Value {
  const xs = g.shape(n.inputs[0]);
  const axis = n.attrs.axis as number;
  const idx = constInts(g, n.inputs[1]);
  const isPerm = idx.length === xs[axis] && new Set(idx).size === idx.length;
  if (isPerm) {
    const inv = new Array<number>(idx.length);
    idx.forEach((src, dst) => (inv[src] = dst));
    return op.gather(g, dy, inv, axis);
  }
  // dx[.., idx[i], ..] += dy[.., i, ..]: ScatterElements with reduction add, indices broadcast over dy
  const ys = g.shape(dy);
  const idxShape = ys.map((d, i) => (i === axis ? d : 1));
  const full = g.node('Expand', [g.ints(idx, idxShape), g.ints(ys)], {}, [ys])[0];
  const zeros = g.node('ConstantOfShape', [g.ints(xs)], {}, [[...xs]])[0];
  return g.node('ScatterElements', [zeros, full, dy], { axis, reduction: 'add' }, [[...xs]])[0];
}

/** The table: ONNX operator → its gradient rule. */
export const GRADIENTS: Readonly<Record<string, GradRule>> = {
  // y = x
  Identity: ({ dy }) => [dy[0]],
  // y = a + b
  Add: ({ g, node: n, dy: [d] }) => [unbroadcast(g, d!, g.shape(n.inputs[0])), unbroadcast(g, d!, g.shape(n.inputs[1]))],
  // y = a − b
  Sub: ({ g, node: n, dy: [d], wants }) => [
    unbroadcast(g, d!, g.shape(n.inputs[0])),
    wants[1] ? unbroadcast(g, op.neg(g, d!), g.shape(n.inputs[1])) : null,
  ],
  // y = a · b
  Mul: ({ g, node: n, dy: [d], wants }) => {
    const [a, b] = n.inputs;
    return [wants[0] ? unbroadcast(g, op.mul(g, d!, b), g.shape(a)) : null, wants[1] ? unbroadcast(g, op.mul(g, d!, a), g.shape(b)) : null];
  },
  // y = a / b:  da = dy / b,  db = −dy · y / b
  Div: ({ g, node: n, dy: [d], wants }) => {
    const [a, b] = n.inputs;
    return [
      wants[0] ? unbroadcast(g, op.div(g, d!, b), g.shape(a)) : null,
      wants[1] ? unbroadcast(g, op.neg(g, op.div(g, op.mul(g, d!, n.outputs[0]), b)), g.shape(b)) : null,
    ];
  },
  // y = x^p, p a constant:  dx = dy · p · x^(p−1)
  Pow: ({ g, node: n, dy: [d], wants }) => {
    if (wants[1]) throw new Error('internal: Pow is differentiated for a constant exponent only');
    const p = g.initializers.get(n.inputs[1])!.data(() => new Float32Array())[0] as number;
    const xp = p === 2 ? n.inputs[0] : g.node('Pow', [n.inputs[0], scalar(g, p - 1)], {}, [g.shape(n.inputs[0])])[0];
    return [op.mul(g, d!, op.mul(g, xp, scalar(g, p))), null];
  },
  // y = −x
  Neg: ({ g, dy: [d] }) => [op.neg(g, d!)],
  // y = 1 / x:  dx = −dy · y²
  Reciprocal: ({ g, node: n, dy: [d] }) => [op.neg(g, op.mul(g, d!, op.mul(g, n.outputs[0], n.outputs[0])))],
  // y = √x:  dx = dy / (2y)
  Sqrt: ({ g, node: n, dy: [d] }) => [op.div(g, d!, op.mul(g, n.outputs[0], scalar(g, 2)))],
  // y = eˣ:  dx = dy · y
  Exp: ({ g, node: n, dy: [d] }) => [op.mul(g, d!, n.outputs[0])],
  // y = ln x:  dx = dy / x
  Log: ({ g, node: n, dy: [d] }) => [op.div(g, d!, n.inputs[0])],
  // y = max(x, 0):  dx = dy where x > 0 (0 at 0, as PyTorch)
  Relu: ({ g, node: n, dy: [d] }) => {
    const pos = g.node('Greater', [n.inputs[0], scalar(g, 0)], {}, [g.shape(n.inputs[0])])[0];
    return [g.node('Where', [pos, d!, scalar(g, 0)], {}, [g.shape(d!)])[0]];
  },
  // y = ln(1 + eˣ):  dx = dy · σ(x)
  Softplus: ({ g, node: n, dy: [d] }) => [op.mul(g, d!, op.sigmoid(g, n.inputs[0]))],
  // y = erf(x):  dx = dy · 2/√π · e^(−x²)
  Erf: ({ g, node: n, dy: [d] }) => {
    const x = n.inputs[0];
    const e = op.exp(g, op.neg(g, op.mul(g, x, x)));
    return [op.mul(g, d!, op.mul(g, e, scalar(g, 2 / Math.sqrt(Math.PI))))];
  },
  // y = a @ b (numpy broadcasting)
  MatMul: ({ g, node: n, dy: [d], wants }) => {
    const [a, b] = n.inputs;
    const sa = g.shape(a);
    const sb = g.shape(b);
    let da: Value | null = null;
    let db: Value | null = null;
    if (wants[0])
      da = sa.length === 2 && sb.length > 2 ? leftWeightGrad(g, d!, b) : unbroadcast(g, op.matmul(g, d!, transposeLast(g, b)), sa);
    if (wants[1]) {
      if (sb.length === 2 && sa.length > 2) {
        // a weight: one (K, M)·(M, N) product over all rows of the batch
        const K = sa[sa.length - 1];
        const N = sb[1];
        const a2 = op.reshape(g, a, [-1, K]); // (M, K)
        const d2 = op.reshape(g, d!, [-1, N]); // (M, N)
        db = g.node('Gemm', [a2, d2], { transA: 1 }, [[K, N]])[0];
      } else db = unbroadcast(g, op.matmul(g, transposeLast(g, a), d!), sb);
    }
    return [da, db];
  },
  // y = transpose(x, perm)
  Transpose: ({ g, node: n, dy: [d] }) => {
    const perm = ints(n, 'perm');
    const inv = new Array<number>(perm.length);
    perm.forEach((p, i) => (inv[p] = i));
    return [op.transpose(g, d!, inv)];
  },
  // y = reshape(x, shape)
  Reshape: ({ g, node: n, dy: [d] }) => [op.reshape(g, d!, g.shape(n.inputs[0])), null],
  // y = expand(x, shape)
  Expand: ({ g, node: n, dy: [d] }) => [unbroadcast(g, d!, g.shape(n.inputs[0])), null],
  // y = tile(x, repeats):  dx sums the copies
  Tile: ({ g, node: n, dy: [d] }) => {
    const xs = g.shape(n.inputs[0]);
    const reps = constInts(g, n.inputs[1]);
    const pairs = xs.flatMap((s, i) => [reps[i], s]); // (r0, s0, r1, s1, …)
    const axes = xs.map((_, i) => 2 * i);
    return [op.reshape(g, op.reduceSum(g, op.reshape(g, d!, pairs), axes, false), xs), null];
  },
  // y = x[..., idx, ...] with constant indices
  Gather: ({ g, node: n, dy: [d] }) => [gatherGrad(g, n, d!), null],
  // y = concat(x₀, x₁, …)
  Concat: ({ g, node: n, dy: [d] }) => {
    const axis = n.attrs.axis as number;
    if (n.inputs.length === 1) return [d];
    return op.split(
      g,
      d!,
      axis,
      n.inputs.map((x) => g.shape(x)[axis]),
    );
  },
  // (y₀, y₁, …) = split(x)
  Split: ({ g, node: n, dy }) => {
    const axis = n.attrs.axis as number;
    const parts = dy.map((d, i) => d ?? g.node('ConstantOfShape', [g.ints(g.shape(n.outputs[i]))], {}, [g.shape(n.outputs[i])])[0]);
    return [op.concat(g, parts, axis), null];
  },
  // y = x[start:end] along one axis
  Slice: ({ g, node: n, dy: [d] }) => {
    const xs = g.shape(n.inputs[0]);
    const [start] = constInts(g, n.inputs[1]);
    const [end] = constInts(g, n.inputs[2]);
    const [axis] = constInts(g, n.inputs[3]);
    const pads = new Array<number>(2 * xs.length).fill(0);
    pads[axis] = start;
    pads[xs.length + axis] = xs[axis] - Math.min(end, xs[axis]);
    return [g.node('Pad', [d!, g.ints(pads)], {}, [[...xs]])[0], null, null, null];
  },
  // y = pad(x) with zeros
  Pad: ({ g, node: n, dy: [d] }) => {
    const xs = g.shape(n.inputs[0]);
    const pads = constInts(g, n.inputs[1]);
    let t = d!;
    xs.forEach((s, i) => {
      if (pads[i] !== 0 || pads[xs.length + i] !== 0) t = op.slice(g, t, i, pads[i], pads[i] + s);
    });
    return [t, null];
  },
  // y = Σ over axes
  ReduceSum: ({ g, node: n, dy: [d] }) => {
    const xs = g.shape(n.inputs[0]);
    return [expandBack(g, d!, reduceAxes(g, n, xs.length), xs), null];
  },
  // y = mean over axes
  ReduceMean: ({ g, node: n, dy: [d] }) => {
    const xs = g.shape(n.inputs[0]);
    const axes = reduceAxes(g, n, xs.length);
    const count = axes.reduce((p, a) => p * xs[a], 1);
    return [expandBack(g, op.mul(g, d!, scalar(g, 1 / count)), axes, xs)];
  },
  // y = ‖x‖₂ over axes:  dx = dy · x / y
  ReduceL2: ({ g, node: n, dy: [d] }) => {
    const x = n.inputs[0];
    if (n.attrs.keepdims !== 1) throw new Error('internal: ReduceL2 is differentiated with keepdims only');
    return [op.mul(g, x, op.div(g, d!, n.outputs[0]))];
  },
  // y = softmax(x):  dx = y · (dy − Σ dy·y)
  Softmax: ({ g, node: n, dy: [d] }) => {
    const y = n.outputs[0];
    const axis = n.attrs.axis as number;
    return [op.mul(g, y, op.sub(g, d!, op.reduceSum(g, op.mul(g, d!, y), [axis], true)))];
  },
  // y = max over axes:  dx = dy where x equals the maximum, shared equally between ties (as PyTorch's amax)
  ReduceMax: ({ g, node: n, dy: [d] }) => {
    const x = n.inputs[0];
    const xs = g.shape(x);
    const axes = reduceAxes(g, n, xs.length);
    const keep = xs.map((s, i) => (axes.includes(i) ? 1 : s));
    const y = n.attrs.keepdims === 0 ? op.reshape(g, n.outputs[0], keep) : n.outputs[0];
    const hit = g.node('Equal', [x, y], {}, [xs])[0]; // bool, shaped like x
    const mask = g.node('Cast', [hit], { to: 1 }, [xs])[0]; // 1.0 at the maxima
    const share = op.div(g, mask, op.reduceSum(g, mask, axes, true));
    return [op.mul(g, share, expandBack(g, d!, axes, xs))];
  },
  // y = (x − μ)·σ⁻¹·γ + β over the last axis; the forward keeps μ and σ⁻¹ as outputs 1 and 2
  LayerNormalization: ({ g, node: n, dy: [d], wants }) => {
    const [x, gamma] = n.inputs;
    const [, mean, inv] = n.outputs;
    if (!mean || !inv) throw new Error('internal: LayerNormalization was built without its statistics');
    const xs = g.shape(x);
    const lead = xs.slice(0, -1).map((_, i) => i);
    const xhat = op.mul(g, op.sub(g, x, mean), inv);
    const dGamma = wants[1] ? sumLeading(g, op.mul(g, d!, xhat), lead.length, false) : null;
    const dBeta = wants[2] ? sumLeading(g, d!, lead.length, false) : null;
    let dx: Value | null = null;
    if (wants[0]) {
      const gx = op.mul(g, d!, gamma);
      const centred = op.sub(g, gx, op.reduceMean(g, gx, [-1]));
      dx = op.mul(g, op.sub(g, centred, op.mul(g, xhat, op.reduceMean(g, op.mul(g, gx, xhat), [-1]))), inv);
    }
    return [dx, dGamma, dBeta];
  },
  // y = x·Φ(x) (exact GELU, onnxruntime's contrib op):  dx = dy · (Φ(x) + x·φ(x))
  Gelu: ({ g, node: n, dy: [d] }) => {
    const x = n.inputs[0];
    const cdf = op.mul(g, op.add(g, op.erf(g, op.mul(g, x, scalar(g, Math.SQRT1_2))), scalar(g, 1)), scalar(g, 0.5));
    const pdf = op.mul(g, op.exp(g, op.mul(g, op.mul(g, x, x), scalar(g, -0.5))), scalar(g, 1 / Math.sqrt(2 * Math.PI)));
    return [op.mul(g, d!, op.add(g, cdf, op.mul(g, x, pdf)))];
  },
  // y = conv(x, w) + b
  Conv: ({ g, node: n, dy: [d], wants }) => [
    wants[0] ? convInputGrad(g, n, d!) : null,
    wants[1] ? convWeightGrad(g, n, n.inputs[0], d!) : null,
    wants[2] ? op.reduceSum(g, d!, [0, 2, 3], false) : null,
  ],
};
