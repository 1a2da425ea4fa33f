/**
 * onnxruntime's profiler, read back: where each node runs (its kernel events name the execution
 * provider, which is how a GPU provider's CPU fallbacks are found), and where the time goes, summed
 * by op type (what `bench --profile` prints).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { Tensor } from '../tensor.js';
import { requireWebGpu } from './webgpu.js';

/** A kernel event of onnxruntime's profile (`chrome://tracing` format). */
interface ProfileEvent {
  cat: string;
  name: string;
  dur: number;
  args?: { op_name?: string; provider?: string };
}

/** Creates a session with profiling on, calls `use` with it, and returns its kernel events. */
async function profiled(
  model: Uint8Array,
  options: ort.InferenceSession.SessionOptions,
  use: (s: ort.InferenceSession) => Promise<void>,
): Promise<ProfileEvent[]> {
  const dir = mkdtempSync(join(tmpdir(), 'flatten-vit-profile-'));
  try {
    const session = await ort.InferenceSession.create(model, { ...options, enableProfiling: true, profileFilePrefix: join(dir, 'run') });
    try {
      await use(session);
      session.endProfiling();
    } finally {
      await session.release();
    }
    const events = JSON.parse(readFileSync(join(dir, readdirSync(dir)[0]), 'utf8')) as ProfileEvent[];
    return events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time') && e.args?.op_name);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const feedsOf = (inputs: Record<string, Tensor>): Record<string, ort.Tensor> =>
  Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, new ort.Tensor('float32', t.data, [...t.shape])]));

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
  const outputs: Record<string, Tensor> = {};
  const events = await profiled(model, { executionProviders, logSeverityLevel: 3 }, async (session) => {
    const result = await session.run(feedsOf(inputs));
    for (const [k, t] of Object.entries(result)) outputs[k] = { shape: t.dims.map(Number), data: t.data as Float32Array };
  });
  const placement: Record<string, Record<string, number>> = {};
  for (const e of events) {
    const ops = (placement[e.args!.provider ?? 'unknown'] ??= {});
    ops[e.args!.op_name!] = (ops[e.args!.op_name!] ?? 0) + 1;
  }
  return { outputs, placement };
}

/** Time per op type over profiled runs. */
export interface OpProfile {
  op: string;
  /** Kernel time per run, ms. */
  ms: number;
  /** Share of all kernel time. */
  share: number;
  /** Nodes of this type (after onnxruntime's graph optimizations). */
  nodes: number;
}

/**
 * Runs `model` `runs` times after one warm-up run with the profiler on and sums kernel time by op
 * type, largest first: where a model spends its time, after onnxruntime's own fusions.
 *
 * @example
 * ```ts
 * const ops = await profileOps(onnxBytes, { pixel_values: x }, { threads: 2, runs: 5 });
 * console.log(ops[0]); // { op: 'MatMul', ms: 210.3, share: 0.69, nodes: 84 }
 * ```
 */
export async function profileOps(
  model: Uint8Array,
  inputs: Record<string, Tensor>,
  opts: { threads?: number; executionProviders?: string[]; runs?: number } = {},
): Promise<OpProfile[]> {
  const runs = opts.runs ?? 5;
  const executionProviders = opts.executionProviders ?? ['cpu'];
  if (executionProviders.includes('webgpu')) requireWebGpu();
  const options: ort.InferenceSession.SessionOptions = { executionProviders, logSeverityLevel: 3 };
  if (opts.threads !== undefined) Object.assign(options, { intraOpNumThreads: opts.threads, interOpNumThreads: 1 });
  const events = await profiled(model, options, async (session) => {
    const feeds = feedsOf(inputs);
    for (let i = 0; i <= runs; i++) await session.run(feeds);
  });
  // Every run has the same kernels, the warm-up run's first: keep the last `runs` runs' events.
  const timed = events.slice(events.length / (runs + 1));
  const byOp = new Map<string, { us: number; nodes: Set<string> }>();
  for (const e of timed) {
    const o = byOp.get(e.args!.op_name!) ?? { us: 0, nodes: new Set<string>() };
    o.us += e.dur;
    o.nodes.add(e.name);
    byOp.set(e.args!.op_name!, o);
  }
  const total = [...byOp.values()].reduce((a, o) => a + o.us, 0);
  return [...byOp].map(([op, o]) => ({ op, ms: o.us / runs / 1000, share: o.us / total, nodes: o.nodes.size })).sort((a, b) => b.ms - a.ms);
}
