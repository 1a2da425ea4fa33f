/**
 * Where onnxruntime runs each node: one run with its profiler on, whose kernel events name the
 * execution provider of every node. This is how a GPU provider's CPU fallbacks are found.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { Tensor } from '../tensor.js';
import { requireWebGpu } from './webgpu.js';

/** One profiled run: the outputs, and for each provider the op types it ran and how often. */
export interface PlacedRun {
  outputs: Record<string, Tensor>;
  /** e.g. `{ WebGpuExecutionProvider: { MatMul: 40, ... }, CPUExecutionProvider: { Gather: 1 } }` */
  placement: Record<string, Record<string, number>>;
}

/**
 * Runs `model` once on `inputs` with the given providers and reports where each node ran.
 *
 * @example
 * ```ts
 * const { placement } = await placedRun(onnxBytes, { pixel_values: x }, ['webgpu']);
 * console.log(Object.keys(placement)); // ['WebGpuExecutionProvider']
 * ```
 */
export async function placedRun(model: Uint8Array, inputs: Record<string, Tensor>, executionProviders: string[]): Promise<PlacedRun> {
  if (executionProviders.includes('webgpu')) requireWebGpu();
  const dir = mkdtempSync(join(tmpdir(), 'flatten-vit-profile-'));
  try {
    const session = await ort.InferenceSession.create(model, {
      executionProviders,
      logSeverityLevel: 3,
      enableProfiling: true,
      profileFilePrefix: join(dir, 'run'),
    });
    const feeds: Record<string, ort.Tensor> = {};
    for (const [k, t] of Object.entries(inputs)) feeds[k] = new ort.Tensor('float32', t.data, [...t.shape]);
    const result = await session.run(feeds);
    session.endProfiling();
    await session.release();
    const outputs: Record<string, Tensor> = {};
    for (const [k, t] of Object.entries(result)) outputs[k] = { shape: t.dims.map(Number), data: t.data as Float32Array };
    const events = JSON.parse(readFileSync(join(dir, readdirSync(dir)[0]), 'utf8')) as {
      cat: string;
      name: string;
      args?: { op_name?: string; provider?: string };
    }[];
    const placement: Record<string, Record<string, number>> = {};
    for (const e of events) {
      if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time') || !e.args?.provider || !e.args.op_name) continue;
      const ops = (placement[e.args.provider] ??= {});
      ops[e.args.op_name] = (ops[e.args.op_name] ?? 0) + 1;
    }
    return { outputs, placement };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
