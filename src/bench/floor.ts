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
import { Graph, type Value, type WeightLookup } from '../graph/graph.js';
import { countMacs } from '../graph/macs.js';
import { serializeModel } from '../graph/onnx.js';
import type { ModelDefinition } from '../models/define.js';
import { createSession } from '../runtime/session.js';
import type { Tensor } from '../tensor.js';
import { timeRepeated } from './timing.js';

const PRODUCTS = new Set(['MatMul', 'Conv']);

/** The products-only graph of a model and the inputs to feed it at a batch size. */
export interface FloorGraph {
  graph: Graph;
  inputs: Record<string, Tensor>;
  /** Multiply-accumulates of one run at this batch (batch × the model's per-image MACs). */
  macs: number;
  /** Multiply-accumulates of a run given its outputs (each product's real shape), to check against `macs`. */
  macsOf: (outputs: Record<string, Tensor>) => number;
}

/**
 * Builds the products-only graph of `def` for `batch` images.
 *
 * @example
 * ```ts
 * const floor = floorGraph(defineModel(resolveArchitectureSpec('flatten_swin_t')), 8);
 * ```
 */
export function floorGraph(def: ModelDefinition, batch: number): FloorGraph {
  const model = def.graph;
  const g = new Graph();
  const inputs: Record<string, Tensor> = {};
  const byShape = new Map<string, Value>();
  const operand = (v: Value, copy: number): Value => {
    const init = model.initializers.get(v);
    if (init) return g.initializer(v, init.dtype, init.dims, init.data);
    const [b1, ...rest] = model.shape(v); // (B·…, …) for one image
    const shape = [b1 * batch, ...rest];
    const key = `${shape.join('x')}#${copy}`;
    const known = byShape.get(key);
    if (known) return known;
    const name = g.input(`x${byShape.size}`, shape);
    const data = new Float32Array(shape.reduce((a, d) => a * d, 1));
    for (let i = 0; i < data.length; i++) data[i] = Math.sin(i * 0.37);
    inputs[name] = { shape, data };
    byShape.set(key, name);
    return name;
  };
  const perOutput = new Map<string, number>(); // MACs per output element: K, or (C/groups)·kh·kw
  const seen = new Map<string, number>(); // products by op, attributes and operands
  for (const n of model.nodes.filter((m) => PRODUCTS.has(m.op))) {
    const signature = JSON.stringify([n.op, n.attrs, n.inputs.map((v) => (model.initializers.has(v) ? v : model.shape(v)))]);
    const copy = seen.get(signature) ?? 0;
    seen.set(signature, copy + 1);
    const ins = n.inputs.map((v) => operand(v, copy));
    const out = model.shape(n.outputs[0]);
    const y = g.node(n.op, ins, { ...n.attrs }, [out])[0];
    // The product's shape, not the product, is the graph's output: an output would be allocated
    // afresh every run, where the model's intermediate values come from onnxruntime's reused arena.
    const dims = g.node('Shape', [y], {}, [[out.length]])[0];
    const name = `y${perOutput.size}`;
    g.output(g.node('Cast', [dims], { to: 1 }, [[out.length]])[0], name);
    const a = model.shape(n.inputs[n.op === 'Conv' ? 1 : 0]);
    perOutput.set(name, n.op === 'Conv' ? a[1] * a[2] * a[3] : a[a.length - 1]);
  }
  const macsOf = (outputs: Record<string, Tensor>) =>
    [...perOutput].reduce((sum, [name, k]) => sum + outputs[name].data.reduce((a, d) => a * d, 1) * k, 0);
  return { graph: g, inputs, macs: countMacs(model) * batch, macsOf };
}

/**
 * GFLOP/s of a model's products alone at `batch` (median over at least `seconds` of runs).
 *
 * @example
 * ```ts
 * const { gflops } = await floorRate(def, randomWeights(def.params), { batch: 8, threads: 2 });
 * ```
 */
export async function floorRate(
  def: ModelDefinition,
  weights: WeightLookup,
  opts: { batch: number; threads?: number; seconds?: number; executionProviders?: string[] },
): Promise<{ gflops: number; ms: number }> {
  const floor = floorGraph(def, opts.batch);
  const s = await createSession(serializeModel(floor.graph, weights), {
    threads: opts.threads,
    executionProviders: opts.executionProviders,
  });
  try {
    const ran = floor.macsOf(await s.run(floor.inputs));
    if (ran !== floor.macs) throw new Error(`internal: the floor graph ran ${ran} MACs, the model has ${floor.macs}`);
    const t = await timeRepeated(() => s.run(floor.inputs), opts.seconds ?? 2);
    return { gflops: (2 * floor.macs) / t.medianMs / 1e6, ms: t.medianMs };
  } finally {
    await s.release();
  }
}
