/**
 * A model's GEMM-only floor: its matrix products and convolutions at their real shapes, with nothing
 * else, timed in onnxruntime. The model cannot run faster than this graph (everything it adds is
 * element-wise, normalisation or layout work), so the model's rate over the floor's says how much of
 * its time goes to that work, measured rather than argued.
 *
 * Each product keeps its weights (the same constants onnxruntime prepacks in the model); each
 * activation operand becomes a graph input of its real shape, shared by the products that read that
 * shape, so that the floor is not slowed by reading a fresh tensor for every product. Two products
 * of activations alone with the same shapes get different inputs: onnxruntime would otherwise merge
 * them into one and the floor would skip work the model does.
 *
 * Dimension legend: B batch; shapes are the model's, traced for one image, with dim 0 × B.
 */
import { Graph, type GraphNode, type Value, type WeightLookup } from '../graph/graph.js';
import { countMacs, isSumProduct } from '../graph/macs.js';
import { serializeModel } from '../graph/onnx.js';
import * as op from '../graph/ops.js';
import { NCHWC_DOMAIN } from '../graph/nchwc.js';
import type { ModelDefinition } from '../models/define.js';
import { createSession } from '../runtime/session.js';
import type { Tensor } from '../tensor.js';
import { timeRepeated } from './timing.js';

const PRODUCTS = new Set(['MatMul', 'Conv']);

/** A part of a model's graph, and the inputs to feed it at a batch size. */
export interface FloorGraph {
  graph: Graph;
  inputs: Record<string, Tensor>;
  /** Multiply-accumulates of one run at this batch (batch × the model's per-image MACs). */
  macs: number;
  /** Multiply-accumulates of a run given its outputs (each product's real shape), to check against `macs`. */
  macsOf: (outputs: Record<string, Tensor>) => number;
}

/** True for the nodes of the GEMM-only floor: matrix products and convolutions (not the sums written as products). */
export const isProduct = (g: Graph, n: GraphNode): boolean => PRODUCTS.has(n.op) && !isSumProduct(g, n);

/**
 * The model's products plus the nodes `keep` selects, for `batch` images: kept nodes read each
 * other's outputs as in the model; every other value they read becomes an input (see above).
 * `floorGraph` keeps the products alone; `scripts/inference-bound.ts` adds the element-wise work no
 * graph can drop (GELU, LayerNorm, residual sums, softmax) to bound what the model can reach.
 *
 * @example
 * ```ts
 * const part = partialGraph(def, 8, (n) => n.op === 'LayerNormalization');
 * ```
 */
export function partialGraph(def: Pick<ModelDefinition, 'graph'>, batch: number, keep: (n: GraphNode) => boolean): FloorGraph {
  const model = def.graph;
  const g = new Graph();
  const inputs: Record<string, Tensor> = {};
  const byShape = new Map<string, Value>();
  const ours = new Map<Value, Value>(); // a kept node's output → the same value here
  const operand = (v: Value, copy: number): Value => {
    const own = ours.get(v);
    if (own) return own;
    const init = model.initializers.get(v);
    if (init) return g.initializer(v, init.dtype, init.dims, init.data);
    const [b1, ...rest] = model.shape(v); // (B·…, …) for one image
    const shape = [b1 * batch, ...rest];
    const key = `${shape.join('x')}#${copy}`;
    const known = byShape.get(key);
    if (known) return known;
    // dynamic, so that onnxruntime cannot fold the outputs' Shape nodes and drop the work; one
    // dimension name per input, as their first dimensions differ
    const name = g.input(`x${byShape.size}`, shape, 'float32', `d${byShape.size}`);
    const data = new Float32Array(shape.reduce((a, d) => a * d, 1));
    for (let i = 0; i < data.length; i++) data[i] = Math.sin(i * 0.37);
    inputs[name] = { shape, data };
    byShape.set(key, name);
    return name;
  };
  const kept = model.nodes.filter((n) => isProduct(model, n) || keep(n));
  const readByKept = new Set(kept.flatMap((n) => n.inputs));
  const perOutput = new Map<string, number>(); // MACs per output element of a product: K, or (C/groups)·kh·kw
  const seen = new Map<string, number>(); // nodes by op, attributes and operands
  for (const n of kept) {
    const signature = JSON.stringify([n.op, n.attrs, n.inputs.map((v) => ours.get(v) ?? (model.initializers.has(v) ? v : model.shape(v)))]);
    const copy = seen.get(signature) ?? 0;
    seen.set(signature, copy + 1);
    const ins = n.inputs.map((v) => operand(v, copy));
    const outs = g.node(
      n.op,
      ins,
      { ...n.attrs },
      n.outputs.map((o) => model.shape(o)),
      undefined,
      n.domain,
    );
    n.outputs.forEach((o, i) => ours.set(o, outs[i]));
    const y = outs[0];
    if (!isProduct(model, n) && readByKept.has(n.outputs[0])) continue;
    // One element of the value is the graph's output: a whole output would be allocated afresh every
    // run, where the model's intermediate values come from onnxruntime's reused arena; and the value's
    // Shape alone would not do, since onnxruntime folds a Shape it knows statically (a training graph's
    // fixed batch, a weight's gradient) to a constant and prunes the work behind it.
    g.output(op.slice(g, op.reshape(g, y, [-1]), 0, 0, 1), `k${g.outputs.length}`);
    if (!isProduct(model, n)) continue;
    // a product's shape too, to count the MACs it ran
    const rank = model.shape(n.outputs[0]).length;
    const name = `y${g.outputs.length}`;
    g.output(g.node('Cast', [g.node('Shape', [y], {}, [[rank]])[0]], { to: 1 }, [[rank]])[0], name);
    const a = model.shape(n.inputs[n.op === 'Conv' ? 1 : 0]);
    perOutput.set(name, n.op === 'Conv' ? a[1] * a[2] * a[3] : a[a.length - 1]);
  }
  const macsOf = (outputs: Record<string, Tensor>) =>
    [...perOutput].reduce((sum, [name, k]) => sum + outputs[name].data.reduce((p, d) => p * d, 1) * k, 0);
  return { graph: g, inputs, macs: countMacs(model) * batch, macsOf };
}

/**
 * The GEMM-only floor of `def` for `batch` images: its products alone.
 *
 * @example
 * ```ts
 * const floor = floorGraph(defineModel(resolveArchitectureSpec('flatten_swin_t')), 8);
 * ```
 */
export function floorGraph(def: Pick<ModelDefinition, 'graph'>, batch: number): FloorGraph {
  return partialGraph(def, batch, () => false);
}

/** A part of a model's graph ({@link partialGraph}) in a session, checked to run the model's MACs. */
export interface PartialSession {
  /** One run on the part's inputs. */
  run: () => Promise<unknown>;
  /** Multiply-accumulates of one run. */
  macs: number;
  /** Frees the session. */
  release: () => Promise<void>;
}

/**
 * Opens a session on the model's products plus the nodes `keep` selects (the products alone by
 * default), and runs it once to check that it ran every MAC of the model.
 *
 * @example
 * ```ts
 * const part = await openPartial(def, (n) => w.get(n)!, { batch: 8, threads: 2, keep: necessaryWork(def.graph) });
 * await part.run();
 * await part.release();
 * ```
 */
export async function openPartial(
  def: Pick<ModelDefinition, 'graph'>,
  weights: WeightLookup,
  opts: { batch: number; threads?: number; executionProviders?: string[]; keep?: (n: GraphNode) => boolean },
): Promise<PartialSession> {
  const part = partialGraph(def, opts.batch, opts.keep ?? (() => false));
  const s = await createSession(serializeModel(part.graph, weights), {
    threads: opts.threads,
    executionProviders: opts.executionProviders,
  });
  try {
    const ran = part.macsOf(await s.run(part.inputs));
    if (ran !== part.macs) throw new Error(`internal: the floor graph ran ${ran} MACs, the model has ${part.macs}`);
  } catch (e) {
    await s.release();
    throw e;
  }
  return { run: () => s.run(part.inputs), macs: part.macs, release: () => s.release() };
}

/**
 * GFLOP/s of a model's products alone at `batch` (median over at least `seconds` of runs), or with
 * the nodes `keep` selects (the rate counts the products' MACs only).
 *
 * @example
 * ```ts
 * const { gflops } = await floorRate(def, randomWeights(def.params), { batch: 8, threads: 2 });
 * ```
 */
export async function floorRate(
  def: Pick<ModelDefinition, 'graph'>,
  weights: WeightLookup,
  opts: { batch: number; threads?: number; seconds?: number; executionProviders?: string[]; keep?: (n: GraphNode) => boolean },
): Promise<{ gflops: number; ms: number }> {
  const part = await openPartial(def, weights, opts);
  try {
    const t = await timeRepeated(part.run, opts.seconds ?? 2);
    return { gflops: (2 * part.macs) / t.medianMs / 1e6, ms: t.medianMs };
  } finally {
    await part.release();
  }
}

/**
 * The nodes of a training graph's bound: its products, the forward's necessary work
 * ({@link necessaryWork}), and every backward node that belongs to a necessary forward node (its
 * gradient rule: GELU's in 11 element-wise passes, LayerNorm's in 14, softmax's in 4; and the sums
 * of gradient parts at the residual joins). Everything else a step does — layout, the focusing
 * function, bias adds and their gradients, the update — takes no time in it.
 *
 * @example
 * ```ts
 * const tg = defineTrainingGraph(resolveArchitecture('flatten_pvt_v2_b0'), { batch: 32 });
 * const bound = await floorRate(tg, () => new Float32Array(), { batch: 1, keep: trainingBoundWork(tg) });
 * ```
 */
export function trainingBoundWork(tg: { graph: Graph; origins: ReadonlyMap<GraphNode, GraphNode> }): (n: GraphNode) => boolean {
  const forward = tg.graph.nodes.filter((n) => !tg.origins.has(n));
  const necessary = necessaryWork(tg.graph, undefined, forward);
  const isForward = new Set(forward);
  return (n) => {
    const origin = tg.origins.get(n);
    if (origin) return necessary(origin);
    return isForward.has(n) && necessary(n);
  };
}

/** The products of a training graph beside MatMul and Conv (which {@link partialGraph} always keeps). */
export const isTrainingProduct = (n: GraphNode): boolean => n.op === 'Gemm' || n.op === 'ConvTranspose';

/** The kinds of {@link modelWork}. */
export type ModelWorkKind = 'focused' | 'bias' | 'reorder';

/** Operations that only move or select floats, and products: what {@link modelWork}'s `focused` leaves out. */
const NOT_ELEMENTWISE = new Set([
  'Reshape',
  'Transpose',
  'Slice',
  'Concat',
  'Split',
  'Identity',
  'Tile',
  'Expand',
  'Gather',
  'Pad',
  'Squeeze',
  'Unsqueeze',
  'MatMul',
  'Conv',
  'Gemm',
]);

/**
 * Work of a training step that its bound ({@link trainingBoundWork}) counts as free but that the
 * model itself asks for, forward and backward (every backward node of such a forward node):
 *
 * - `focused`: focused linear attention's own element-wise work, every node of a focused attention
 *   scope that is neither a product nor layout — the positional encoding, the kernel function
 *   (ReLU, 1e-6, softplus(scale)), the focusing function f_p, the normaliser and the DWC's sum;
 * - `bias`: the linear layers' bias adds (an `Add` of a parameter named `….bias`);
 * - `reorder`: the blocked-layout reorders around the depthwise convolutions of a graph lowered for
 *   onnxruntime's CPU kernels (graph/nchwc.ts), the price of those kernels' speed.
 *
 * Kept with the bound, they time how fast the step could be with only its layout (transposes, the
 * convolutions' gradient layout), the loss and the update taking no time.
 *
 * @example
 * ```ts
 * const bound = trainingBoundWork(tg);
 * const own = modelWork(tg);
 * const ceiling = await floorRate(tg, () => new Float32Array(), { batch: 1, keep: (n) => bound(n) || own(n) });
 * ```
 */
export function modelWork(
  tg: { graph: Graph; origins: ReadonlyMap<GraphNode, GraphNode> },
  kinds: readonly ModelWorkKind[] = ['focused', 'bias', 'reorder'],
): (n: GraphNode) => boolean {
  const g = tg.graph;
  const want = new Set(kinds);
  const scopes = g.probes.filter((p) => p.kind === 'focused').map((p) => `${p.scope}/`);
  const params = new Set(g.usedParams().map((p) => p.name));
  const producer = new Map(g.nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
  const parameter = (v: Value): string | null => {
    if (params.has(v)) return v;
    const p = producer.get(v);
    return p && (p.op === 'Reshape' || p.op === 'Identity' || p.op === 'Transpose') ? parameter(p.inputs[0]) : null;
  };
  const isBias = (n: GraphNode) => n.op === 'Add' && n.inputs.some((v) => parameter(v)?.endsWith('.bias') ?? false);
  const isFocused = (n: GraphNode) => !NOT_ELEMENTWISE.has(n.op) && !isBias(n) && scopes.some((s) => n.name.startsWith(s));
  return (n) => {
    if (want.has('reorder') && n.domain === NCHWC_DOMAIN && (n.op === 'ReorderInput' || n.op === 'ReorderOutput')) return true;
    const forward = tg.origins.get(n) ?? n;
    return (want.has('bias') && isBias(forward)) || (want.has('focused') && isFocused(forward));
  };
}

/** The kinds of {@link necessaryWork}. */
export type NecessaryKind = 'gelu' | 'norm' | 'residual' | 'softmax';

/**
 * The work no graph of the model can drop, beside its products: its exact GELUs (the builders'
 * Add(bias) → Div → Erf → Add → Mul → Mul, onnxruntime's BiasGelu), LayerNorms, residual sums and
 * softmaxes. Kept with the products by {@link partialGraph}, it times the fastest the model could run
 * with onnxruntime's kernels however its other operations (layout, the focusing function, attention
 * normalisers, bias adds) were arranged.
 *
 * @example
 * ```ts
 * const bound = await floorRate(def, weights, { batch: 8, keep: necessaryWork(def.graph) });
 * const geluOnly = necessaryWork(def.graph, ['gelu']);
 * ```
 */
export function necessaryWork(
  g: Graph,
  kinds: readonly NecessaryKind[] = ['gelu', 'norm', 'residual', 'softmax'],
  nodes: readonly GraphNode[] = g.nodes,
): (n: GraphNode) => boolean {
  const producer = new Map(nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
  const readers = new Map<Value, GraphNode[]>();
  for (const n of nodes)
    for (const i of n.inputs)
      readers
        .set(i, readers.get(i) ?? [])
        .get(i)!
        .push(n);
  const gelu = new Set<GraphNode>();
  for (const erf of nodes.filter((n) => n.op === 'Erf')) {
    const div = producer.get(erf.inputs[0])!;
    gelu.add(erf).add(div).add(producer.get(div.inputs[0])!);
    let next = readers.get(erf.outputs[0]) ?? [];
    while (next.length === 1 && next[0].op !== 'MatMul') {
      gelu.add(next[0]);
      next = readers.get(next[0].outputs[0]) ?? [];
    }
  }
  const sameShape = (n: GraphNode) => n.inputs.every((v) => !g.initializers.has(v) && g.shape(v).join() === g.shape(n.inputs[0]).join());
  const residual = (n: GraphNode) => n.op === 'Add' && /block\d+\/Add_\d+$/.test(n.name) && sameShape(n);
  const want = new Set(kinds);
  return (n) =>
    (want.has('gelu') && (gelu.has(n) || n.op === 'Gelu')) ||
    (want.has('norm') && n.op === 'LayerNormalization') ||
    (want.has('softmax') && n.op === 'Softmax') ||
    (want.has('residual') && residual(n));
}
