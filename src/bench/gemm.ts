/**
 * This machine's dense float32 GEMM rate in onnxruntime: the yardstick a model's throughput is held
 * against. Square products of 512, 1024 and 2048 are timed with the same thread count, and the best
 * median rate is the machine's rate. The sessions come from the caller: onnxruntime-node's, or
 * onnxruntime-web's WASM in the browser.
 */
import { Graph } from '../graph/graph.js';
import { serializeModel } from '../graph/onnx.js';
import * as op from '../graph/ops.js';
import type { RuntimeSession } from '../runtime/types.js';
import { timeRepeated } from './timing.js';

/**
 * GFLOP/s (2·M·N·K per product) of the fastest square size.
 *
 * @example
 * ```ts
 * const { gflops } = await gemmRate((bytes) => createSession(bytes, { threads: 2 }));
 * ```
 */
export async function gemmRate(
  createSession: (model: Uint8Array) => Promise<RuntimeSession>,
  seconds = 1,
): Promise<{ gflops: number; bySize: Record<number, number> }> {
  const bySize: Record<number, number> = {};
  for (const n of [512, 1024, 2048]) {
    const g = new Graph();
    const x = g.input('x', [n, n]);
    const w = new Float32Array(n * n).map((_, i) => Math.sin(i) * 0.01);
    g.output(op.matmul(g, x, g.constant('w', [n, n], w)), 'y');
    const s = await createSession(serializeModel(g, () => new Float32Array()));
    const input = { shape: [n, n], data: new Float32Array(n * n).map((_, i) => Math.cos(i)) };
    const t = await timeRepeated(() => s.run({ x: input }), seconds);
    await s.release();
    bySize[n] = (2 * n ** 3) / t.medianMs / 1e6;
  }
  return { gflops: Math.max(...Object.values(bySize)), bySize };
}
