/**
 * The Node runtime: onnxruntime-node sessions. Only the runtime folder imports onnxruntime; the
 * browser runtime (`web.ts`) implements the same `RuntimeSession` with onnxruntime-web.
 */
import * as ort from 'onnxruntime-node';
import type { Tensor64 } from '../tensor.js';
import type { RuntimeOptions, RuntimeSession } from './types.js';
import { wrapSession } from './wrap.js';

export type { RuntimeOptions, RuntimeSession } from './types.js';

/** The onnxruntime version, for cache keys. */
export const RUNTIME_VERSION = `onnxruntime-node ${ort.env.versions.node}`;

/**
 * Runs a float64 graph once (the analyses' linear algebra) and returns its outputs.
 *
 * @example
 * ```ts
 * const { y } = await runFloat64(bytes, { x: { shape: [n, n], data } }, 2);
 * ```
 */
export async function runFloat64(model: Uint8Array, inputs: Record<string, Tensor64>, threads?: number): Promise<Record<string, Tensor64>> {
  const session = await ort.InferenceSession.create(model, { logSeverityLevel: 3, ...(threads ? { intraOpNumThreads: threads } : {}) });
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(inputs)) feeds[name] = new ort.Tensor('float64', t.data, [...t.shape]);
    const result = await session.run(feeds);
    const out: Record<string, Tensor64> = {};
    for (const [name, t] of Object.entries(result)) out[name] = { shape: t.dims.map(Number), data: t.data as Float64Array };
    return out;
  } finally {
    await session.release();
  }
}

/**
 * Creates a session from ONNX bytes.
 *
 * @example
 * ```ts
 * const s = await createSession(onnxBytes, { threads: 2 });
 * const { logits } = await s.run({ pixel_values: x });
 * ```
 */
export async function createSession(model: Uint8Array, opts: RuntimeOptions = {}): Promise<RuntimeSession> {
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: (opts.executionProviders ?? ['cpu']) as ort.InferenceSession.ExecutionProviderConfig[],
    graphOptimizationLevel: opts.optimization ?? 'all',
    logSeverityLevel: 3,
  };
  if (opts.threads !== undefined) {
    options.intraOpNumThreads = opts.threads;
    options.interOpNumThreads = 1;
  }
  if (opts.optimizedModelPath) options.optimizedModelFilePath = opts.optimizedModelPath;
  if (opts.memoryPattern === false) options.enableMemPattern = false;
  const session = await ort.InferenceSession.create(model, options);
  return wrapSession(session, (data, dims) => new ort.Tensor('float32', data, dims));
}
