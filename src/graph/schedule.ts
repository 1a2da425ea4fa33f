/**
 * When a runtime computes the training graph's work, and what it keeps for the backward pass.
 *
 * The parameter gradients. onnxruntime does not run a graph's nodes in the
 * order they are listed: it walks the graph depth-first from its outputs, an input's producer before
 * the node that reads it, the producer listed last first. In a training graph the parameter
 * gradients are read only at the end (by the flat gradient buffers and the update), so that walk
 * follows the chain of input gradients from the loss down to the first layer first and computes the
 * parameter gradients after it — holding every layer's output gradient, and the forward activation
 * each weight gradient reads, until the end of the step. Read back from onnxruntime's profiler
 * (its arena's bytes in use) at batch 32: PVTv2-B0 peaks at 3049 MiB that way and at 2228 MiB with
 * the gradients pinned; Swin-T at 5619 and 4553 MiB, its arena holding 6143 and 5119 MiB.
 *
 * {@link pinParameterGradients} makes the walk follow the builder's order: each parameter gradient
 * becomes an input of the next backward node that reads a parameter, through a zero derived from
 * one of its elements and subtracted from that parameter. Whatever topological order a runtime picks, a
 * gradient is then computed before the backward pass goes past the next layer.
 *
 *   z = Cast(Less(G[0], −∞))        exactly 0 for every float, NaN and ±∞ included
 *   P' = P − z                       the next backward node reads P' instead of P (bit for bit P)
 *
 * Two more passes free forward activations the backward pass would otherwise keep:
 * {@link recomputeGeluOutputs} (GELU's output, read by the next product's weight gradient, computed
 * again from GELU's input, which GELU's own gradient keeps anyway) and {@link computeMasksInForward}
 * (ReLU's gradient mask, one byte per element, computed in the forward pass so that ReLU's input, four
 * bytes, is freed there; for the CPU provider only, as WebGPU cannot slice the boolean mask). The
 * forward GELU's output also gets a shape no other value has, since onnxruntime reuses a freed
 * buffer only for an output of the same shape and keeps it until then. Swin-T at batch 32:
 * onnxruntime's arena in use at its peak 4553 → 3678 MiB, the arena 5119 → 4095 MiB; PVTv2-B0
 * 2228 → 1978 MiB, the arena 3071 → 2047 MiB. The step's time moved within the machine's noise:
 * 0.97–1.02 of the graph without them, timed in one process, alternating.
 *
 * Dimension legend: k the values a node waits for.
 */
import type { Graph, GraphNode, Value } from './graph.js';
import * as op from './ops.js';

/**
 * Makes each gradient in `grads` an input of the first node after its producer (in the graph's
 * order) that is in `backward`, reads one of `params` and has one output. Returns, for each node
 * replaced, the nodes that replace it (the zero's and the node reading P'), like `Graph.replaceNode`.
 * Changes no value the graph computes.
 *
 * @example
 * ```ts
 * const grads = differentiate(g, loss, names, origins);
 * pinParameterGradients(g, grads, new Set(names), new Set(origins.keys()));
 * ```
 */
export function pinParameterGradients(
  g: Graph,
  grads: ReadonlyMap<Value, Value | null>,
  params: ReadonlySet<Value>,
  backward: ReadonlySet<GraphNode>,
): Map<GraphNode, GraphNode[]> {
  const position = positions(g);
  const readers = g.nodes
    .map((n, i) => (backward.has(n) && n.outputs.length === 1 && n.inputs.some((v) => params.has(v)) ? i : -1))
    .filter((i) => i >= 0);
  const waiting = new Map<GraphNode, Value[]>(); // reader → the gradients it waits for
  for (const grad of grads.values()) {
    const at = grad === null ? undefined : position.get(grad);
    const reader = at === undefined ? undefined : readers.find((i) => i > at);
    if (reader === undefined) continue;
    const n = g.nodes[reader];
    waiting.set(n, [...(waiting.get(n) ?? []), grad!]);
  }
  const replaced = new Map<GraphNode, GraphNode[]>();
  for (const [reader, waits] of waiting) replaced.set(reader, readAfter(g, reader, params, waits));
  return replaced;
}

/**
 * Exactly +0 from the first element of each of `values` (float or bool), which the node computing
 * it must wait for: Cast(Less(v[0], −∞)) is false, hence 0, for every float, NaN and ±∞ included.
 */
function zeroAfter(g: Graph, values: readonly Value[]): Value {
  const negInf = g.initializer('const.neg_inf', 'float32', [], () => Float32Array.of(-Infinity));
  const firsts = values.map((v) => {
    const size = g.shape(v).reduce((a, d) => a * d, 1);
    const first = op.slice(g, op.reshape(g, v, [size]), 0, 0, 1); // (1)
    return g.node('Cast', [first], { to: 1 }, [[1]])[0]; // (1) float
  });
  const picked = op.concatMany(g, firsts, 0); // (k)
  const below = g.node('Less', [picked, negInf], {}, [[values.length]])[0]; // (k) all false
  const zeros = g.node('Cast', [below], { to: 1 }, [[values.length]])[0]; // (k) all +0
  return op.reduceSum(g, zeros, [0], false); // () +0
}

/**
 * Replaces `reader` by the same node reading P − z for its first input in `params`, z the zero of
 * `waits` ({@link zeroAfter}): x − (+0) is x bit for bit, −0 included. Returns the nodes added.
 */
function readAfter(g: Graph, reader: GraphNode, params: ReadonlySet<Value>, waits: readonly Value[]): GraphNode[] {
  return g.replaceNode(reader, () => {
    const param = reader.inputs.find((v) => params.has(v))!;
    const pinned = op.sub(g, param, zeroAfter(g, waits)); // like param
    const inputs = reader.inputs.map((v) => (v === param ? pinned : v));
    return g.node(reader.op, inputs, { ...reader.attrs }, [g.shape(reader.outputs[0])], undefined, reader.domain)[0];
  });
}

/** The position of each value's producer in the graph's node order. */
function positions(g: Graph): Map<Value, number> {
  const at = new Map<Value, number>();
  g.nodes.forEach((n, i) => n.outputs.forEach((o) => at.set(o, i)));
  return at;
}

/**
 * For each forward GELU whose output backward nodes read (the weight gradient of the product after
 * it), computes that output again for them from GELU's input, so that the forward output is freed
 * after the forward product (onnxruntime's common-subexpression elimination, which would merge the
 * two, leaves its contrib-domain GELU alone). The forward GELU then computes in a shape of its own,
 * (1, …): onnxruntime reuses a freed buffer only for an output of the same shape and keeps it until
 * one comes, so the buffer of a stage's last GELU is freed instead of kept for the stage's backward
 * pass. The recomputation is listed before the producer of the latest backward value its reader (or
 * the product reading that reader, after a Transpose) meets, so that onnxruntime's walk, which takes
 * the producer listed last first, runs it after that value rather than at the start of the backward
 * pass. Returns, for each node replaced, the nodes that replace it.
 *
 * @example
 * ```ts
 * recomputeGeluOutputs(g, new Set(origins.keys()));
 * ```
 */
export function recomputeGeluOutputs(g: Graph, backward: ReadonlySet<GraphNode>): Map<GraphNode, GraphNode[]> {
  const replaced = new Map<GraphNode, GraphNode[]>();
  for (const gelu of g.nodes.filter((n) => n.op === 'Gelu' && !backward.has(n))) {
    const [x] = gelu.inputs;
    const [y] = gelu.outputs;
    const readers = g.nodes.filter((n) => backward.has(n) && n.inputs.includes(y));
    if (readers.length === 0) continue;
    const at = positions(g);
    // the latest backward value the first reader, or what reads it (a Transpose's product), meets
    const first = readers[0];
    const next = g.nodes.filter((n) => n.inputs.some((v) => first.outputs.includes(v)));
    const met = [first, ...next].flatMap((n) => n.inputs).filter((v) => v !== y && !first.outputs.includes(v));
    const before = Math.max(-1, ...met.filter((v) => at.has(v) && backward.has(g.nodes[at.get(v)!])).map((v) => at.get(v)!));
    if (before < 0) continue;
    const start = g.nodes.length;
    const y2 = g.node('Gelu', [x], {}, [g.shape(y)], undefined, gelu.domain)[0]; // like y
    const made = g.nodes.splice(start);
    g.nodes.splice(before, 0, ...made);
    for (const r of readers) {
      const k = g.nodes.indexOf(r);
      g.nodes[k] = { ...r, inputs: r.inputs.map((v) => (v === y ? y2 : v)) };
      replaced.set(r, r === first ? [...made, g.nodes[k]] : [g.nodes[k]]);
    }
    // the forward output in a shape no other value has, (1, …): onnxruntime reuses a freed buffer
    // only for an output of the same shape, so after the stage's last GELU its buffer is freed
    // instead of kept for the stage's backward pass
    const shape = g.shape(y);
    replaced.set(
      gelu,
      g.replaceNode(gelu, () => {
        const lifted = op.reshape(g, x, [1, ...shape]); // (1, …y)
        const out = g.node('Gelu', [lifted], {}, [[1, ...shape]], undefined, gelu.domain)[0]; // (1, …y)
        return op.reshape(g, out, shape); // like y
      }),
    );
  }
  return replaced;
}

/**
 * For each backward comparison of a forward value x with a constant (ReLU's gradient mask x > 0)
 * where that comparison is the only backward node reading x: moves it into the forward pass, right
 * after x, and makes the next forward node that reads one of `params` wait for it
 * ({@link zeroAfter}), so that x is freed in the forward pass and the backward pass keeps the mask
 * (one byte per element) instead. Returns, for each forward node replaced, the nodes that replace it.
 *
 * @example
 * ```ts
 * computeMasksInForward(g, new Set(origins.keys()), new Set(trainedNames));
 * ```
 */
export function computeMasksInForward(g: Graph, backward: ReadonlySet<GraphNode>, params: ReadonlySet<Value>): Map<GraphNode, GraphNode[]> {
  const replaced = new Map<GraphNode, GraphNode[]>();
  for (const mask of g.nodes.filter((n) => n.op === 'Greater' && backward.has(n))) {
    const [x, limit] = mask.inputs;
    const producer = g.nodes.findIndex((n) => n.outputs.includes(x));
    if (producer < 0 || backward.has(g.nodes[producer]) || !g.initializers.has(limit)) continue;
    if (g.nodes.some((n) => n !== mask && backward.has(n) && n.inputs.includes(x))) continue;
    g.nodes.splice(g.nodes.indexOf(mask), 1);
    g.nodes.splice(producer + 1, 0, mask);
    const reader = g.nodes.find(
      (n, i) => i > producer + 1 && !backward.has(n) && n.outputs.length === 1 && n.inputs.some((v) => params.has(v)),
    );
    if (reader) replaced.set(reader, readAfter(g, reader, params, mask.outputs));
  }
  return replaced;
}
