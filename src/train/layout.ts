/**
 * Where a training run keeps its parameters: one flat float32 buffer per optimizer group (the weights
 * with weight decay, then those without), each parameter a contiguous piece of it in the official
 * order, plus one buffer of the parameters the run does not train (frozen ones, and those the forward
 * pass never reads, whose EMA the official loop still keeps). The training graph slices its parameters
 * out of these buffers and concatenates its gradients into buffers of the same layout, so the update
 * (update_graph.ts) is a handful of element-wise nodes over a few long vectors, and a runtime on a GPU
 * holds the whole state in a few buffers.
 */
import type { ParamSpec } from '../graph/graph.js';
import { numel } from '../tensor.js';

/** One parameter's place in its buffer. */
export interface Slot {
  readonly param: ParamSpec;
  /** Offset of its first element. */
  readonly offset: number;
  readonly size: number;
}

/** One flat buffer: its name as a graph input and its parameters. */
export interface FlatBuffer {
  /** `params.0`, `params.1`, … for the groups, `fixed` for the parameters not trained. */
  readonly name: string;
  readonly slots: readonly Slot[];
  readonly size: number;
}

/** The buffers of a run. */
export interface ParamLayout {
  /** One per optimizer group, in group order (a group may be empty: its buffer is then absent). */
  readonly groups: readonly FlatBuffer[];
  /** The parameters not trained (frozen or unused), or null when every parameter is trained. */
  readonly fixed: FlatBuffer | null;
}

function buffer(name: string, params: readonly ParamSpec[]): FlatBuffer {
  let offset = 0;
  const slots = params.map((param) => {
    const size = numel(param.shape);
    const slot = { param, offset, size };
    offset += size;
    return slot;
  });
  return { name, slots, size: offset };
}

/**
 * The layout of trained parameters split into optimizer groups (lists of our names, in order) and of
 * the others.
 *
 * @example
 * ```ts
 * const layout = paramLayout(groups.map((g) => g.params), fixed, specs);
 * layout.groups[0].slots[0].param.name; // the first parameter with weight decay
 * ```
 */
export function paramLayout(
  groups: readonly (readonly string[])[],
  fixed: readonly ParamSpec[],
  specs: ReadonlyMap<string, ParamSpec>,
): ParamLayout {
  return {
    groups: groups.map((names, i) =>
      buffer(
        `params.${i}`,
        names.map((n) => specs.get(n)!),
      ),
    ),
    fixed: fixed.length ? buffer('fixed', fixed) : null,
  };
}

/** Every buffer of the layout: the groups, then the fixed one. */
export const allBuffers = (l: ParamLayout): FlatBuffer[] => [...l.groups, ...(l.fixed ? [l.fixed] : [])];

/**
 * Packs per-parameter arrays into a buffer.
 *
 * @example
 * ```ts
 * const flat = pack(layout.groups[0], weights); // Float32Array of layout.groups[0].size
 * ```
 */
export function pack(b: FlatBuffer, values: (name: string) => Float32Array): Float32Array {
  const out = new Float32Array(b.size);
  for (const s of b.slots) out.set(values(s.param.name), s.offset);
  return out;
}

/** Splits a buffer back into per-parameter arrays (copies, by our names). */
export function unpack(b: FlatBuffer, flat: Float32Array, into = new Map<string, Float32Array>()): Map<string, Float32Array> {
  for (const s of b.slots) into.set(s.param.name, flat.slice(s.offset, s.offset + s.size));
  return into;
}
