/**
 * Initial weights for training from scratch: seeded truncated-normal-like weights as
 * `randomWeights` makes them, with the focused linear attention's `scale` and
 * `positional_encoding` at zero as the official constructors create them.
 */
import type { ParamSpec } from '../graph/graph.js';
import { randomWeights } from '../models/init.js';

/**
 * Fresh weights for every parameter, by our name.
 *
 * @example
 * ```ts
 * const w = initialWeights(defineModel(arch).params, 0);
 * ```
 */
export function initialWeights(params: readonly ParamSpec[], seed: number): Map<string, Float32Array> {
  const w = randomWeights(params, seed);
  for (const p of params) if (/(^|\.)(scale|positional_encoding)$/.test(p.official)) w.get(p.name)!.fill(0);
  return w;
}
