/**
 * How much memory running a graph takes at its peak, estimated from the traced shapes: every value
 * is allocated when its node runs and freed after its last reader, in the graph's node order, with
 * the graph's inputs and outputs held throughout. Training graphs have fixed shapes, so this is the
 * memory of one step of the forward and backward passes as built; a runtime's planner and arena add
 * to it or reuse within it, which callers calibrate for.
 */
import type { Graph } from './graph.js';

/**
 * The peak of live tensor bytes (float32 elements × 4) over the nodes of `g`.
 *
 * @example
 * ```ts
 * peakLiveBytes(defineTrainingGraph(arch, { batch: 8 }).graph) / 2 ** 20; // MiB
 * ```
 */
export function peakLiveBytes(g: Graph): number {
  const bytes = (v: string) => 4 * g.shape(v).reduce((a, d) => a * d, 1);
  const lastUse = new Map<string, number>();
  g.nodes.forEach((n, i) => n.inputs.forEach((v) => lastUse.set(v, i)));
  const held = new Set([...g.inputs.map((i) => i.name), ...g.outputs.map((o) => o.name)]);
  let live = g.inputs.reduce((s, i) => s + bytes(i.name), 0);
  let peak = live;
  g.nodes.forEach((n, i) => {
    for (const o of n.outputs) live += bytes(o);
    peak = Math.max(peak, live);
    for (const v of new Set([...n.inputs, ...n.outputs])) {
      if (held.has(v) || g.initializers.has(v) || v === '') continue;
      const last = lastUse.get(v);
      if (last === undefined ? n.outputs.includes(v) : last === i) live -= bytes(v);
    }
  });
  return peak;
}
