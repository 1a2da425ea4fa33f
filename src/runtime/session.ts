/**
 * The runtime: onnxruntime-node sessions. This is the only module that imports onnxruntime, so the
 * rest of the library stays runtime-agnostic (the browser build swaps in onnxruntime-web).
 */
import * as ort from 'onnxruntime-node';
import type { Tensor, Tensor64 } from '../tensor.js';

/** Session options flatten-vit exposes. */
export interface RuntimeOptions {
  /** Intra-op threads; onnxruntime's default (all cores) when absent. */
  threads?: number;
  /** Execution providers in order of preference, e.g. `['cuda', 'cpu']`. Default `['cpu']`. */
  executionProviders?: string[];
  /** Graph optimization level. Default `all`. */
  optimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /** Write the optimized model here (onnxruntime's `optimizedModelFilePath`). */
  optimizedModelPath?: string;
}

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

/** A loaded model ready to run. */
export interface RuntimeSession {
  /** Runs the model on float32 inputs; returns the requested outputs (all when `outputs` is absent). */
  run(inputs: Record<string, Tensor>, outputs?: readonly string[]): Promise<Record<string, Tensor>>;
  readonly outputNames: readonly string[];
  release(): Promise<void>;
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
  const session = await ort.InferenceSession.create(model, options);
  return {
    outputNames: session.outputNames,
    async run(inputs, outputs) {
      const feeds: Record<string, ort.Tensor> = {};
      for (const [name, t] of Object.entries(inputs)) feeds[name] = new ort.Tensor('float32', t.data, [...t.shape]);
      const result = outputs ? await session.run(feeds, [...outputs]) : await session.run(feeds);
      const out: Record<string, Tensor> = {};
      for (const [name, t] of Object.entries(result)) {
        out[name] = { shape: t.dims.map(Number), data: t.data as Float32Array };
      }
      return out;
    },
    release: () => session.release(),
  };
}
