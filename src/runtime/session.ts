/**
 * The Node runtime: onnxruntime-node sessions. Only the runtime folder imports onnxruntime; the
 * browser runtime (`web.ts`) implements the same `RuntimeSession` with onnxruntime-web.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { FlattenError } from '../util/errors.js';
import type { Tensor64 } from '../tensor.js';
import { nchwcKernels } from './nchwc.js';
import { hostStepRuntime } from './step.js';
import type { RuntimeOptions, RuntimeSession, StepRuntime } from './types.js';
import { requireWebGpu } from './webgpu.js';
import { wrapSession } from './wrap.js';

export type { DeviceTensor, RuntimeOptions, RuntimeSession, StepRuntime, StepSession } from './types.js';

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
  const eps = opts.executionProviders ?? ['cpu'];
  checkExecutionProviders(eps);
  if (eps.includes('webgpu')) requireWebGpu();
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(model, options);
  } catch (e) {
    if (eps.includes('webgpu')) {
      throw new FlattenError('runtime', `--ep webgpu: onnxruntime could not create the session (${(e as Error).message.split('\n')[0]})`);
    }
    const gpu = eps.find((ep) => ep === 'cuda' || ep === 'tensorrt');
    if (gpu) {
      throw new FlattenError(
        'runtime',
        `--ep ${gpu}: onnxruntime could not start its ${gpu} provider (${(e as Error).message.split('\n')[0]}); it needs an NVIDIA GPU with CUDA 12 and cuDNN 9 installed and on the library path`,
      );
    }
    throw e;
  }
  return wrapSession(session, (data, dims) => new ort.Tensor('float32', data, dims));
}

/**
 * The runtime a training run computes on in Node: onnxruntime-node sessions, with the memory pattern
 * off unless asked for (it lowers a training graph's peak memory by a third). On the CPU provider
 * alone, the trainer builds its graphs for onnxruntime's blocked-layout kernels where
 * `nchwcKernels` (runtime/nchwc.ts) finds them.
 *
 * @example
 * ```ts
 * const trainer = await Trainer.create(arch, { settings, stepsPerEpoch, weights, runtime: nodeStepRuntime({ threads: 2 }) });
 * ```
 */
export function nodeStepRuntime(opts: RuntimeOptions = {}): StepRuntime {
  const eps = opts.executionProviders ?? ['cpu'];
  const cpu = eps.length === 1 && eps[0] === 'cpu';
  return hostStepRuntime(eps[0], (model) => createSession(model, { memoryPattern: false, ...opts }), true, cpu ? nchwcKernels : undefined);
}

/**
 * Fails with one line, before onnxruntime prints anything, when an execution provider is not one
 * this onnxruntime-node offers, or is one whose libraries its install step did not download (CUDA
 * and TensorRT on Linux x64).
 */
function checkExecutionProviders(eps: readonly string[]): void {
  const supported = ort.listSupportedBackends();
  for (const ep of eps) {
    const backend = supported.find((b) => b.name === ep);
    if (!backend) {
      throw new FlattenError('runtime', `--ep ${ep}: onnxruntime-node on this platform offers ${supported.map((b) => b.name).join(', ')}`);
    }
    if (backend.bundled) continue;
    const pkg = dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
    const lib = join(pkg, 'bin', 'napi-v6', process.platform, process.arch, `libonnxruntime_providers_${ep}.so`);
    if (!existsSync(lib)) {
      throw new FlattenError(
        'runtime',
        `--ep ${ep}: onnxruntime-node was installed without its ${ep} provider (${lib} is missing; its install step downloads it unless ONNXRUNTIME_NODE_INSTALL=skip); reinstall it with network access: ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install, on a machine with CUDA 12 and cuDNN 9`,
      );
    }
  }
}
