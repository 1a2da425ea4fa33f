/**
 * The library's main entry: a FLatten model with its weights, ready to run.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { type CheckpointInput, openCheckpoint } from './checkpoint/open.js';
import type { Precision } from './graph/graph.js';

export type { Precision } from './graph/graph.js';
import { serializeModel } from './graph/onnx.js';
import { defineModel } from './models/define.js';
import { checkFit, memoryStateDict, ModelBase, weightLookup } from './model_base.js';
import { randomWeights } from './models/init.js';
import { type ArchitectureSpec, withArgs } from './models/registry.js';
import { resolveArchitectureSpec } from './models/config_file.js';
import { commit, optimizedModelPath, temporaryPath, touch } from './runtime/cache.js';
import { createSession, type RuntimeOptions } from './runtime/session.js';

/** Options of {@link FlattenModel.load}. */
export interface LoadOptions extends RuntimeOptions {
  /** Use the checkpoint's `state_dict_ema` instead of `model`. */
  ema?: boolean;
  /** Make per-stage outputs available from {@link FlattenModel.predict}. */
  stages?: boolean;
  /** Name used for a checkpoint given as bytes, in messages. */
  checkpointName?: string;
  /** `int8` runs the linear layers in int8 (faster, approximate); default `fp32`, exact. */
  precision?: Precision;
  /** Expose one block's attention inputs (see `DefineOptions.probe`), for the analyses. */
  probe?: string;
  /**
   * Keep onnxruntime's optimized model in this folder and reuse it when the same checkpoint file is
   * loaded again (much faster start-up). Off when absent; the CLI uses `FLATTEN_VIT_CACHE`.
   */
  cacheDir?: string;
}

export type { ArchitectureSpec } from './models/registry.js';

export { ModelBase } from './model_base.js';

/**
 * A FLatten model: an official architecture, its weights, and an onnxruntime session.
 *
 * @example
 * ```ts
 * import { FlattenModel } from 'flatten-vit';
 * const model = await FlattenModel.load('flatten_swin_t', 'flatten_swin_t.pth', { threads: 2 });
 * const { logits } = await model.predict({ shape: [1, 3, 224, 224], data: pixels });
 * await model.dispose();
 * ```
 */
export class FlattenModel extends ModelBase {
  /** The optimized model onnxruntime wrote, moved into the cache only once a run has succeeded. */
  private pendingCache: { tmp: string; final: string } | null = null;

  protected override ran(): void {
    if (!this.pendingCache) return;
    const { tmp, final } = this.pendingCache;
    this.pendingCache = null;
    if (existsSync(tmp)) commit(tmp, final);
  }

  override async dispose(): Promise<void> {
    if (this.pendingCache) rmSync(this.pendingCache.tmp, { force: true });
    this.pendingCache = null;
    await super.dispose();
  }

  /**
   * Builds an architecture, maps a checkpoint onto it (official `.pth` or `.safetensors`; official
   * or flatten-vit key names) and starts a session. Fails with one {@link FlattenError} listing
   * missing keys, unexpected keys and shape mismatches if the checkpoint does not fit. A checkpoint
   * that names its classes (a flatten-vit ImageFolder run) sets the class count of the head.
   */
  static async load(arch: ArchitectureSpec, checkpoint: CheckpointInput, opts: LoadOptions = {}): Promise<FlattenModel> {
    const sd = openCheckpoint(checkpoint, { ema: opts.ema, name: opts.checkpointName });
    try {
      let resolved = resolveArchitectureSpec(arch);
      const named = sd.classNames?.length;
      if (named && resolved.args.num_classes !== named) resolved = withArgs(resolved, { num_classes: named });
      const def = defineModel(resolved, { stages: opts.stages, precision: opts.precision, probe: opts.probe });
      const mapping = checkFit(def, sd);
      const warnings: string[] = [];
      const cached =
        opts.cacheDir && !opts.probe
          ? optimizedModelPath(opts.cacheDir, checkpoint, {
              arch: def.arch.name,
              args: def.arch.args,
              precision: opts.precision ?? 'fp32',
              stages: opts.stages === true,
              ema: opts.ema === true,
            })
          : null;
      if (cached && existsSync(cached)) {
        try {
          const session = await createSession(readFileSync(cached), { ...opts, optimization: 'disabled' });
          touch(cached);
          return new FlattenModel(def, sd, mapping, session, warnings);
        } catch {
          rmSync(cached, { force: true });
        }
      }
      const bytes = serializeModel(def.graph, weightLookup(sd, mapping, warnings));
      const tmp = cached && warnings.length === 0 ? temporaryPath(cached) : undefined;
      const session = await createSession(bytes, { ...opts, optimizedModelPath: tmp });
      const model = new FlattenModel(def, sd, mapping, session, warnings);
      if (tmp && cached) model.pendingCache = { tmp, final: cached };
      return model;
    } catch (e) {
      sd.close();
      throw e;
    }
  }

  /**
   * A model with random weights (seeded), for benchmarks: no checkpoint needed.
   *
   * @example
   * ```ts
   * const model = await FlattenModel.random('flatten_swin_t', { threads: 2 });
   * ```
   */
  static async random(arch: ArchitectureSpec, opts: LoadOptions & { seed?: number } = {}): Promise<FlattenModel> {
    const def = defineModel(resolveArchitectureSpec(arch), { stages: opts.stages, precision: opts.precision, probe: opts.probe });
    return FlattenModel.fromWeights(arch, randomWeights(def.params, opts.seed ?? 0), opts);
  }

  /**
   * A model from weights already in memory, by flatten-vit's parameter names (as `weights()` returns
   * them, or `randomWeights` makes them).
   */
  static async fromWeights(
    arch: ArchitectureSpec,
    weights: ReadonlyMap<string, Float32Array>,
    opts: LoadOptions = {},
  ): Promise<FlattenModel> {
    const def = defineModel(resolveArchitectureSpec(arch), { stages: opts.stages, precision: opts.precision, probe: opts.probe });
    const sd = memoryStateDict(def, weights, '<weights>');
    const mapping = checkFit(def, sd);
    const session = await createSession(
      serializeModel(def.graph, (name) => weights.get(name)!),
      opts,
    );
    return new FlattenModel(def, sd, mapping, session, []);
  }
}

export { checkFit, weightLookup, type Prediction } from './model_base.js';
