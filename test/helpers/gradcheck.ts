/**
 * Test helper: checks the gradients a training graph computes (onnxruntime, float32) against
 * central finite differences of the same graph's loss evaluated in float64 (evaluate64), along a
 * random direction per input: |Σ g·v − (L(x + hv) − L(x − hv)) / 2h| relative to the derivative's size.
 * `lower` rewrites the differentiated graph for onnxruntime's kernels (graph/nchwc.ts) before it runs.
 */
import { differentiate } from '../../src/graph/autodiff.js';
import type { Graph, Value } from '../../src/graph/graph.js';
import { serializeModel } from '../../src/graph/onnx.js';
import { seededRandom } from '../../src/models/init.js';
import { createSession } from '../../src/runtime/session.js';
import type { Tensor } from '../../src/tensor.js';
import { evaluate64, type T64 } from './evaluate64.js';

/** One input's check: the directional derivative from the gradient graph and from differences. */
export interface DirectionalCheck {
  readonly input: string;
  readonly analytic: number;
  readonly numeric: number;
  /** |analytic − numeric| / max(|numeric|, floor). */
  readonly error: number;
  /** |analytic − numeric| / ‖g‖₂, the typical size of a derivative along a random direction. */
  readonly scaled: number;
}

/** A seeded standard normal generator. */
export function normalRandom(seed: number): () => number {
  const u = seededRandom(seed);
  return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

/**
 * Runs the graph (which must already hold the scalar `loss` and, unless `grads` is given, is
 * differentiated here with respect to `wrt`) and compares each gradient with finite differences.
 * `feeds` hold every graph input (float32 values).
 */
export async function gradCheck(
  g: Graph,
  loss: Value,
  wrt: readonly string[],
  feeds: ReadonlyMap<string, Tensor>,
  opts: { seed?: number; h?: number; gradOutputs?: (input: string) => string; each?: readonly string[]; lower?: (g: Graph) => void } = {},
): Promise<{ checks: DirectionalCheck[]; loss32: number; loss64: number }> {
  const gradOf = opts.gradOutputs ?? ((w: string) => `d.${w}`);
  if (!opts.gradOutputs) {
    const grads = differentiate(g, loss, wrt);
    g.output(loss, 'loss');
    for (const w of wrt) if (grads.get(w)) g.output(grads.get(w)!, gradOf(w));
  }
  opts.lower?.(g);
  const session = await createSession(
    serializeModel(g, () => new Float32Array()),
    { threads: 1 },
  );
  const out = await session.run(Object.fromEntries(feeds));
  await session.release();
  const rnd = normalRandom(opts.seed ?? 7);
  const base = new Map<string, T64>([...feeds].map(([k, t]) => [k, { shape: [...t.shape], data: Float64Array.from(t.data) }]));
  const L = (m: Map<string, T64>) => evaluate64(g, m, [loss]).get(loss)!.data[0];
  const h = opts.h ?? 1e-4;
  const checks: DirectionalCheck[] = [];
  for (const w of opts.each ?? wrt) {
    const x = base.get(w)!;
    const v = Float64Array.from(x.data, () => rnd());
    const gv = out[gradOf(w)]?.data;
    let analytic = 0;
    if (gv) for (let i = 0; i < v.length; i++) analytic += gv[i] * v[i];
    const shifted = (sign: number) => new Map(base).set(w, { shape: x.shape, data: x.data.map((a, i) => a + sign * h * v[i]) });
    const numeric = (L(shifted(1)) - L(shifted(-1))) / (2 * h);
    let norm = 0;
    if (gv) for (let i = 0; i < gv.length; i++) norm += gv[i] * gv[i];
    const diff = Math.abs(analytic - numeric);
    checks.push({
      input: w,
      analytic,
      numeric,
      error: diff / Math.max(Math.abs(numeric), 1e-3),
      scaled: diff / Math.max(Math.sqrt(norm), 1e-6),
    });
  }
  return { checks, loss32: out.loss.data[0], loss64: L(base) };
}
