/**
 * Random weights for an architecture, for benchmarks and tests that need a model but no checkpoint:
 * truncated-normal-like linear and conv weights (std 0.02), LayerNorm weights 1 and biases 0, as the
 * official `_init_weights` leaves a fresh model, from a seeded generator so runs are repeatable.
 */
import type { ParamSpec } from '../graph/graph.js';
import { Random } from '../util/random.js';

/** A seeded generator returning uniform numbers in [0, 1). */
export function seededRandom(seed: number): () => number {
  return new Random(seed).uniform;
}

/**
 * Weights for every parameter, by our name.
 *
 * @example
 * ```ts
 * const weights = randomWeights(defineModel(resolveArchitecture('flatten_swin_t')).params, 0);
 * ```
 */
export function randomWeights(params: readonly ParamSpec[], seed = 0): Map<string, Float32Array> {
  const rnd = seededRandom(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
  const out = new Map<string, Float32Array>();
  for (const p of params) {
    const n = p.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    const isNormWeight = /norm\d*\.weight$|(^|\.)2\.weight$/.test(p.official) && p.shape.length === 1;
    const isBias = /\.bias$/.test(p.name);
    if (isNormWeight) data.fill(1);
    else if (!isBias) for (let i = 0; i < n; i++) data[i] = Math.max(-0.04, Math.min(0.04, 0.02 * normal()));
    out.set(p.name, data);
  }
  return out;
}
