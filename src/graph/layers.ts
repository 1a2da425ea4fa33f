/**
 * The neural-network layers every family shares, as graph fragments with their parameters:
 * Linear, LayerNorm, exact GELU, Conv2d and the two-layer MLP. Parameter names follow PyTorch
 * (`weight`, `bias`) inside the caller's scope; `official` names the same module in the official
 * state dict when it differs from ours.
 *
 * Dimension legend: B batch, N tokens, C channels, H×W spatial grid.
 */
import type { AttentionProbe, Graph, ParamSpec, Value, WeightLookup } from './graph.js';
import { ONES_ROW } from './macs.js';
import { MS_DOMAIN } from './onnx.js';
import * as op from './ops.js';

/** Transposes a row-major (rows, cols) matrix. */
export function transposeMatrix(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c];
  return out;
}

/** The parameters of one `nn.Linear`, declared but not yet used. */
export interface LinearParams {
  readonly weight: ParamSpec;
  readonly bias: ParamSpec | null;
  readonly inF: number;
  readonly outF: number;
}

/** Declares the parameters of `nn.Linear(inF, outF)` in scope `local`. */
export function declareLinear(g: Graph, local: string, inF: number, outF: number, bias = true, official = local): LinearParams {
  return g.within(local, official, () => ({
    weight: g.declareParam('weight', [outF, inF]),
    bias: bias ? g.declareParam('bias', [outF]) : null,
    inF,
    outF,
  }));
}

/** How {@link project} rewrites a slice of a linear layer: per-column weight scale, bias as a full tensor. */
export interface ProjectionTransform {
  /** Name suffix of the derived initializers. */
  readonly tag: string;
  /** Multiplies weight column j (output feature j of the slice) by scale[j]. */
  readonly scale?: (get: WeightLookup) => Float32Array;
  /** The bias to add instead of the layer's own: `dims` and its values from the slice's bias (zeros if none). */
  readonly bias?: { dims: readonly number[]; values: (get: WeightLookup, bias: Float32Array) => Float32Array };
  /** The same transform in a training graph, where nothing is folded: applied to the plain output. */
  readonly unfolded?: (g: Graph, y: Value) => Value;
}

/**
 * Output features [from, to) of a linear layer with nothing folded (training graphs): the parameters
 * are graph inputs, so the weight rows are sliced and transposed in the graph. x (..., inF) → (..., n).
 */
function projectUnfolded(g: Graph, x: Value, p: LinearParams, from: number, to: number): Value {
  const whole = from === 0 && to === p.outF;
  const w = g.paramValue(p.weight); // (outF, inF)
  const rows = whole ? w : op.slice(g, w, 0, from, to); // (n, inF)
  const y = op.matmul(g, x, op.transpose(g, rows, [1, 0])); // (..., n)
  if (!p.bias) return y;
  const b = g.paramValue(p.bias); // (outF)
  return op.add(g, y, whole ? b : op.slice(g, b, 0, from, to));
}

/**
 * Output features [from, to) of a declared linear layer as one MatMul (+ bias) on x. The weight slice
 * is stored transposed, (inF, to − from); a transform can scale its columns and replace the bias.
 */
export function project(g: Graph, x: Value, p: LinearParams, from = 0, to = p.outF, t?: ProjectionTransform): Value {
  if (g.training) {
    const y = projectUnfolded(g, x, p, from, to);
    if (t && !t.unfolded) throw new Error(`internal: projection ${t.tag} has no training form`);
    return t?.unfolded ? t.unfolded(g, y) : y;
  }
  const n = to - from;
  const whole = from === 0 && to === p.outF && !t;
  const suffix = whole ? '' : `.${t?.tag ?? `cols${from}_${to}`}`;
  const w = g.initializer(`${p.weight.name}${suffix}`, 'float32', [p.inF, n], (get) => {
    const full = get(p.weight.name);
    const out = transposeMatrix(full.subarray(from * p.inF, to * p.inF), n, p.inF);
    const scale = t?.scale?.(get);
    if (scale) for (let i = 0; i < p.inF; i++) for (let j = 0; j < n; j++) out[i * n + j] *= scale[j];
    return out;
  });
  const y = g.precision === 'int8' ? quantizedMatmul(g, x, w, p.inF, n) : op.matmul(g, x, w);
  if (!p.bias && !t?.bias) return y;
  const own = (get: WeightLookup) => (p.bias ? get(p.bias.name).slice(from, to) : new Float32Array(n));
  const biasName = `${(p.bias ?? p.weight).name.replace(/weight$/, 'bias')}${suffix}`;
  const b = t?.bias
    ? g.initializer(biasName, 'float32', t.bias.dims, (get) => t.bias!.values(get, own(get)))
    : g.initializer(biasName, 'float32', [n], (get) => own(get));
  return op.add(g, y, b);
}

/**
 * x @ W with int8 arithmetic, in standard ONNX that onnxruntime fuses into one kernel: x is quantized
 * per tensor on the fly (DynamicQuantizeLinear), W per output column, symmetrically, at build time.
 */
function quantizedMatmul(g: Graph, x: Value, w: Value, inF: number, n: number): Value {
  const init = g.initializers.get(w)!;
  let cache: { get: WeightLookup; q: Int8Array; scale: Float32Array } | null = null;
  const quantized = (get: WeightLookup) => {
    if (cache?.get === get) return cache;
    const f = init.data(get) as Float32Array;
    const scale = new Float32Array(n);
    for (let i = 0; i < inF; i++) for (let j = 0; j < n; j++) scale[j] = Math.max(scale[j], Math.abs(f[i * n + j]));
    for (let j = 0; j < n; j++) scale[j] = scale[j] > 0 ? scale[j] / 127 : 1;
    const q = new Int8Array(f.length);
    for (let i = 0; i < inF; i++)
      for (let j = 0; j < n; j++) q[i * n + j] = Math.max(-127, Math.min(127, Math.round(f[i * n + j] / scale[j])));
    cache = { get, q, scale };
    return cache;
  };
  const wq = g.initializer(`${w}.int8`, 'int8', [inF, n], (get) => quantized(get).q);
  const ws = g.initializer(`${w}.scale`, 'float32', [n], (get) => quantized(get).scale);
  const [xq, xs, xz] = g.node('DynamicQuantizeLinear', [x], {}, [g.shape(x), [], []]);
  const sx = g.shape(x);
  const acc = g.node('MatMulInteger', [xq, wq, xz], {}, [[...sx.slice(0, -1), n]])[0];
  const f = g.node('Cast', [acc], { to: 1 }, [g.shape(acc)])[0];
  return op.mul(g, f, op.mul(g, xs, ws));
}

/** A projection's bias as a function of (output feature c, token t), and how many tokens it varies over. */
export interface BiasRule {
  tokens: number;
  value: (get: WeightLookup, b: Float32Array) => (c: number, t: number) => number;
}

/**
 * A slice of a linear layer, W[from:from+C] applied to x (B', T, Cin), returned channel-major
 * (B', C, T). In float32 it is W @ xT on the transposed input `xT` (shared by all projections of the
 * same input); in int8 it is the quantized token-major product on `x`, then transposed. Both inputs
 * are thunks, so only the one used is built. `scale` multiplies
 * each output feature, `bias` replaces the layer's bias.
 */
export function projectChannels(
  g: Graph,
  x: () => Value,
  xT: () => Value,
  src: { linear: LinearParams; from: number },
  C: number,
  tag: string,
  scale: ((get: WeightLookup) => Float32Array) | null = null,
  bias: BiasRule | null = null,
): Value {
  const { linear: p, from } = src;
  if (g.training) {
    if (scale || bias) throw new Error(`internal: ${tag}: folded projections have no training form`);
    const w = g.paramValue(p.weight); // (outF, inF)
    const rows = from === 0 && C === p.outF ? w : op.slice(g, w, 0, from, from + C); // (C, inF)
    const y = op.matmul(g, rows, xT()); // (B', C, T)
    if (!p.bias) return y;
    const b = g.paramValue(p.bias); // (outF)
    const own = from === 0 && C === p.outF ? b : op.slice(g, b, 0, from, from + C); // (C)
    return op.add(g, y, op.reshape(g, own, [C, 1])); // (B', C, T)
  }
  const own = (get: WeightLookup) => (p.bias ? get(p.bias.name).slice(from, from + C) : new Float32Array(C));
  const T = bias?.tokens ?? 1;
  if (g.precision === 'int8') {
    const y = project(g, x(), p, from, from + C, {
      tag,
      ...(scale ? { scale } : {}),
      bias: {
        dims: T === 1 ? [C] : [1, T, C],
        values: (get, b) => {
          const f = bias ? bias.value(get, b) : (c: number) => b[c];
          const out = new Float32Array(T * C);
          for (let t = 0; t < T; t++) for (let c = 0; c < C; c++) out[t * C + c] = f(c, t);
          return out;
        },
      },
    }); // (B', T, C)
    return op.transpose(g, y, [0, 2, 1]); // (B', C, T)
  }
  const w = g.initializer(`${p.weight.name}.${tag}`, 'float32', [C, p.inF], (get) => {
    const out = get(p.weight.name).slice(from * p.inF, (from + C) * p.inF);
    const sc = scale?.(get);
    if (sc) for (let r = 0; r < C; r++) for (let i = 0; i < p.inF; i++) out[r * p.inF + i] *= sc[r];
    return out;
  });
  const y = op.matmul(g, w, xT()); // (B', C, T)
  if (!p.bias && !bias) return y;
  const b = g.initializer(`${(p.bias ?? p.weight).name.replace(/weight$/, 'bias')}.${tag}`, 'float32', [C, T], (get) => {
    const b0 = own(get);
    const f = bias ? bias.value(get, b0) : (c: number) => b0[c];
    const out = new Float32Array(C * T);
    for (let c = 0; c < C; c++) for (let t = 0; t < T; t++) out[c * T + t] = f(c, t);
    return out;
  });
  return op.add(g, y, b);
}

/** Records a softmax attention layer whose q, k come from features [0, C) and [C, 2C) of `qkv`. */
export function probeSoftmax(
  g: Graph,
  qInput: Value,
  kvInput: Value,
  q: { linear: LinearParams; from: number },
  k: { linear: LinearParams; from: number },
  shape: {
    heads: number;
    dim: number;
    grid: readonly [number, number];
    prefix?: number;
    keyTokens: number;
    qkScale: number;
    layout?: AttentionProbe['layout'];
  },
): void {
  const proj = (p: { linear: LinearParams; from: number }) => ({
    weight: p.linear.weight.name,
    bias: p.linear.bias?.name ?? null,
    from: p.from,
    inF: p.linear.inF,
  });
  g.probes.push({ scope: g.name(''), kind: 'softmax', qInput, kvInput, q: proj(q), k: proj(k), prefix: 0, ...shape });
}

/**
 * Folds softmax attention's query scale into the first `C` output features of a `total`-wide
 * projection: `(x W + b) · scale` as `x (W · scale) + b · scale`.
 */
export function scaledQuery(C: number, total: number, scale: number): ProjectionTransform {
  const sc = Math.fround(scale);
  const columns = Float32Array.from({ length: total }, (_, j) => (j < C ? sc : 1));
  return {
    unfolded: (g, y) => op.mul(g, y, g.constant('q_scale', [total], columns)),
    tag: 'scaled_q',
    scale: () => columns,
    bias: { dims: [total], values: (_, b) => b.map((x, j) => (j < C ? x * sc : x)) },
  };
}

/**
 * `nn.Linear(inF, outF)`: x (..., inF) → (..., outF). The weight is stored transposed, (inF, outF),
 * so the product is a plain MatMul.
 */
export function linear(g: Graph, x: Value, local: string, inF: number, outF: number, bias = true, official = local): Value {
  return project(g, x, declareLinear(g, local, inF, outF, bias, official));
}

/** `nn.LayerNorm(dim, eps)` over the last axis. */
export function layerNorm(g: Graph, x: Value, local: string, dim: number, eps: number, official = local): Value {
  return g.within(local, official, () => op.layerNormalization(g, x, g.param('weight', [dim]), g.param('bias', [dim]), eps));
}

/**
 * A residual connection `x + drop_path(y)`. In a training graph of a block with a stochastic-depth
 * rate, y is multiplied per sample by a fed scale: 0 where the sample drops the branch, 1/(1 − p)
 * where it keeps it (timm's `DropPath`).
 */
export function residual(g: Graph, x: Value, y: Value): Value {
  const mask = g.dropPathMask(y);
  return op.add(g, x, mask ? op.mul(g, y, mask) : y);
}

/**
 * The official per-block stochastic-depth rates, `torch.linspace(0, rate, sum(depths))`, by stage:
 * `rates[i][j]` is block j of stage i (all of `depths` counts, as in the official constructors).
 */
export function dropPathRates(rate: number, depths: readonly number[]): number[][] {
  const blocks = depths.reduce((s, d) => s + d, 0);
  let k = 0;
  const next = () => (blocks > 1 ? Math.fround((rate * k++) / (blocks - 1)) : 0);
  return depths.map((d) => Array.from({ length: d }, next));
}

/**
 * Exact (erf) GELU, `0.5·x·(1 + erf(x/√2))`, written in the form onnxruntime fuses into one kernel.
 * A training graph uses onnxruntime's Gelu directly, so that the backward pass keeps only x.
 */
export function gelu(g: Graph, x: Value): Value {
  if (g.training) return g.node('Gelu', [x], {}, [g.shape(x)], undefined, MS_DOMAIN)[0];
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

/**
 * A (1, n) row of ones, shared by the graph's sums written as products (onnxruntime's CPU provider
 * runs some of its reductions slowly, or in an order that depends on the batch); `countMacs` does not
 * count them.
 */
export function onesRow(g: Graph, n: number): Value {
  return g.initializer(`${ONES_ROW}1x${n}`, 'float32', [1, n], () => new Float32Array(n).fill(1));
}

/**
 * Mean over the token axis: (B, N, C) → (B, C). In an inference graph it is a product with a row of
 * ones, divided by N: onnxruntime's CPU ReduceMean over the middle axis sums in another order when the
 * batch is 1 (it drops the axis of size 1), and an image's features must not depend on whether it ran
 * alone or in a batch (a server batches requests). For batches above 1 the values are the same.
 */
export function meanTokens(g: Graph, x: Value): Value {
  if (g.training) return op.reduceMean(g, x, [1], false);
  const [, n, c] = g.shape(x);
  const sum = op.matmul(g, onesRow(g, n), x); // (B, 1, C)
  return op.reshape(g, op.div(g, sum, g.constant('tokens', [], [n])), [-1, c]); // (B, C)
}
