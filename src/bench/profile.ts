/**
 * `bench --profile`: where a model's time goes, by op type, from onnxruntime's profiler, on the
 * graph onnxruntime actually runs (after its fusions, e.g. `BiasGelu`).
 */
import { openCheckpoint, type CheckpointInput } from '../checkpoint/open.js';
import { serializeModel } from '../graph/onnx.js';
import { type ArchitectureSpec, checkFit, weightLookup } from '../model.js';
import { resolveArchitectureSpec } from '../models/config_file.js';
import { defineModel, type ModelDefinition } from '../models/define.js';
import { randomWeights } from '../models/init.js';
import { type OpProfile, profileOps } from '../runtime/profile.js';
import { benchInput } from './throughput.js';

/**
 * A model's ONNX bytes with the checkpoint's weights (which must fit), or seeded random ones.
 *
 * @example
 * ```ts
 * const bytes = modelBytes(defineModel(resolveArchitectureSpec('flatten_pvt_t')));
 * ```
 */
export function modelBytes(def: ModelDefinition, checkpoint?: CheckpointInput, seed = 0): Uint8Array {
  if (checkpoint === undefined) {
    const w = randomWeights(def.params, seed);
    return serializeModel(def.graph, (n) => w.get(n)!);
  }
  const sd = openCheckpoint(checkpoint);
  try {
    return serializeModel(def.graph, weightLookup(sd, checkFit(def, sd), []));
  } finally {
    sd.close();
  }
}

/** What {@link profileModel} measured. */
export interface ModelProfile {
  batch: number;
  runs: number;
  /** Kernel time per run, ms, all ops together. */
  total_ms: number;
  ops: OpProfile[];
}

/**
 * Profiles `runs` runs of a batch (after a warm-up run), with the checkpoint's weights or random ones.
 *
 * @example
 * ```ts
 * const p = await profileModel('flatten_swin_t', { batch: 8, threads: 2 });
 * for (const o of p.ops.slice(0, 5)) console.log(o.op, o.ms.toFixed(1));
 * ```
 */
export async function profileModel(
  arch: ArchitectureSpec,
  opts: { checkpoint?: CheckpointInput; batch?: number; threads?: number; executionProviders?: string[]; runs?: number } = {},
): Promise<ModelProfile> {
  const def = defineModel(resolveArchitectureSpec(arch));
  const bytes = modelBytes(def, opts.checkpoint);
  const batch = opts.batch ?? 8;
  const runs = opts.runs ?? 5;
  const ops = await profileOps(bytes, { pixel_values: benchInput(batch, def.inputShape) }, { ...opts, runs });
  return { batch, runs, total_ms: ops.reduce((a, o) => a + o.ms, 0), ops };
}
