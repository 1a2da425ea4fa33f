/**
 * Reverse-mode differentiation of a built graph: walks its nodes backwards from a scalar and adds, for
 * each node on a path from the parameters to it, the nodes of its gradient rule (gradients.ts). The
 * result is one ONNX graph that computes the forward pass and the gradients together, so onnxruntime
 * keeps the forward activations the backward pass reads and frees them when it is done.
 */
import type { Graph, GraphNode, Value } from './graph.js';
import { GRADIENTS } from './gradients.js';
import * as op from './ops.js';

/**
 * Adds to `g` the gradient of the scalar `loss` with respect to each of `wrt`. Returns the gradient
 * value of each, or null for one the loss does not depend on. `origins`, when given, receives for
 * each backward node the forward node it belongs to: the one whose gradient rule built it, or whose
 * output's gradient parts it sums (what `bench --train`'s bound keeps beside the necessary forward work).
 *
 * @example
 * ```ts
 * const grads = differentiate(g, loss, ['head.weight']);
 * g.output(grads.get('head.weight')!, 'grad.head.weight');
 * ```
 */
export function differentiate(g: Graph, loss: Value, wrt: readonly Value[], origins?: Map<GraphNode, GraphNode>): Map<Value, Value | null> {
  if (g.shape(loss).length !== 0) throw new Error(`internal: the loss ${loss} is not a scalar`);
  const forward = [...g.nodes];
  // values that depend on a parameter
  const live = new Set<Value>(wrt);
  for (const n of forward) if (n.inputs.some((i) => live.has(i))) n.outputs.forEach((o) => live.add(o));
  const pending = new Map<Value, Value[]>([[loss, [g.constant('one', [], [1])]]]);
  const total = (v: Value): Value | null => {
    const parts = pending.get(v);
    if (!parts?.length) return null;
    // A chain of Adds rather than one Sum: every provider has Add (WebGPU has no Sum kernel).
    let sum = parts[0];
    for (const p of parts.slice(1)) sum = g.node('Add', [sum, p], {}, [g.shape(parts[0])])[0];
    pending.set(v, [sum]);
    return sum;
  };
  for (let i = forward.length - 1; i >= 0; i--) {
    const n = forward[i];
    const wants = n.inputs.map((v) => live.has(v));
    if (!wants.some(Boolean)) continue;
    const first = g.nodes.length;
    const dy = n.outputs.map(total);
    if (dy.every((d) => d === null)) continue;
    const rule = GRADIENTS[n.op];
    if (!rule) throw new Error(`internal: no gradient rule for ${n.op} (${n.name})`);
    const dx = g.within('backward', '', () => rule({ g, node: n, dy, wants }));
    n.inputs.forEach((v, k) => {
      const d = dx[k];
      if (!wants[k] || !d) return;
      const s = g.shape(d);
      const want = g.shape(v);
      const fixed = s.length === want.length && s.every((x, j) => x === want[j]) ? d : op.reshape(g, d, want);
      pending.set(v, [...(pending.get(v) ?? []), fixed]);
    });
    if (origins) for (let k = first; k < g.nodes.length; k++) origins.set(g.nodes[k], n);
  }
  return new Map(wrt.map((w) => [w, total(w)]));
}
