/**
 * The order of the official state dict: PyTorch lists a module's own parameters and buffers first,
 * in the order they were registered, then each child module's entries, children in registration
 * order. The builders declare parameters in the official registration order within each module, so
 * sorting their official names as a tree (leaves before subtrees, subtrees by first declaration)
 * gives `model.state_dict()`'s and `model.named_parameters()`' order, which the optimizer's state
 * indices follow.
 */
import type { Graph, ParamSpec } from '../graph/graph.js';

/**
 * Sorts official state-dict names, given in declaration order, into PyTorch's order.
 *
 * @example
 * ```ts
 * officialOrder(['attn.qkv.weight', 'attn.scale']); // ['attn.scale', 'attn.qkv.weight']
 * ```
 */
export function officialOrder(declared: readonly string[]): string[] {
  const first = new Map<string, number>();
  declared.forEach((name, i) => {
    const parts = name.split('.');
    for (let j = 1; j <= parts.length; j++) {
      const prefix = parts.slice(0, j).join('.');
      if (!first.has(prefix)) first.set(prefix, i);
    }
  });
  const key = (name: string): number[] => {
    const parts = name.split('.');
    return parts.flatMap((_, j) => [j === parts.length - 1 ? 0 : 1, first.get(parts.slice(0, j + 1).join('.'))!]);
  };
  const keys = new Map(declared.map((n) => [n, key(n)]));
  return [...declared].sort((a, b) => {
    const ka = keys.get(a)!;
    const kb = keys.get(b)!;
    for (let i = 0; i < Math.min(ka.length, kb.length); i++) if (ka[i] !== kb[i]) return ka[i] - kb[i];
    return ka.length - kb.length;
  });
}

/**
 * The parameters of a built graph in the official `named_parameters()` order.
 *
 * @example
 * ```ts
 * orderedParams(defineModel(arch).graph)[0].official; // 'patch_embed.proj.weight'
 * ```
 */
export function orderedParams(g: Graph): ParamSpec[] {
  const byOfficial = new Map([...g.params.values()].map((p) => [p.official, p]));
  return officialOrder(g.declared)
    .map((n) => byOfficial.get(n))
    .filter((p): p is ParamSpec => p !== undefined);
}
