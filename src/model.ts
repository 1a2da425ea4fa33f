/**
 * The library's main entry: a FLatten model with its weights, ready to run.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import type { StateDict } from './checkpoint/lazy.js';
import { type CheckpointInput, openCheckpoint } from './checkpoint/open.js';
import type { Precision, WeightLookup } from './graph/graph.js';

export type { Precision } from './graph/graph.js';
import { serializeModel } from './graph/onnx.js';
import { countParams, defineModel, INPUT_NAME, type ModelDefinition } from './models/define.js';
import { describeMismatch, isExactFit, mapStateDict, type MappingReport } from './models/mapping.js';
import { randomWeights } from './models/init.js';
import { type ArchitectureConfig, resolveArchitecture } from './models/registry.js';
import { commit, optimizedModelPath, temporaryPath, touch } from './runtime/cache.js';
import { createSession, type RuntimeOptions, type RuntimeSession } from './runtime/session.js';
import { formatShape, type Tensor } from './tensor.js';
import { FlattenError } from './util/errors.js';

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

/** What {@link FlattenModel.predict} returns. */
export interface Prediction {
  /** (B, num_classes) */
  logits: Tensor;
  /** (B, C): pooled features before the head. */
  features: Tensor;
  /** Stage outputs (B, N, C), when the model was loaded with `stages: true`. */
  stages?: Tensor[];
}

/** An architecture given by registered name, by `{family, args}`, or by a path to a config.json. */
export type ArchitectureSpec = string | ArchitectureConfig;

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
export class FlattenModel {
  private constructor(
    readonly definition: ModelDefinition,
    private readonly stateDict: StateDict,
    readonly mapping: MappingReport,
    private readonly session: RuntimeSession,
    /** Warnings about the weights (non-finite values), one line each. */
    readonly warnings: readonly string[],
  ) {}

  /**
   * Builds an architecture, maps a checkpoint onto it (official `.pth` or `.safetensors`; official
   * or flatten-vit key names) and starts a session. Fails with one {@link FlattenError} listing
   * missing keys, unexpected keys and shape mismatches if the checkpoint does not fit.
   */
  static async load(arch: ArchitectureSpec, checkpoint: CheckpointInput, opts: LoadOptions = {}): Promise<FlattenModel> {
    const def = defineModel(resolveArchitecture(arch), { stages: opts.stages, precision: opts.precision, probe: opts.probe });
    const sd = openCheckpoint(checkpoint, { ema: opts.ema, name: opts.checkpointName });
    try {
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
      if (tmp && cached) commit(tmp, cached);
      return new FlattenModel(def, sd, mapping, session, warnings);
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
    const def = defineModel(resolveArchitecture(arch), { stages: opts.stages, precision: opts.precision, probe: opts.probe });
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
    const def = defineModel(resolveArchitecture(arch), { stages: opts.stages, precision: opts.precision, probe: opts.probe });
    const tensors = new Map(
      [...weights].map(([k, v]) => [k, { dtype: 'float32' as const, shape: def.graph.params.get(k)?.shape ?? [v.length], read: () => v }]),
    );
    const sd: StateDict = { source: '<weights>', format: 'safetensors', entry: '(root)', tensors, otherEntries: [], close: () => {} };
    const mapping = checkFit(def, sd);
    const session = await createSession(
      serializeModel(def.graph, (name) => weights.get(name)!),
      opts,
    );
    return new FlattenModel(def, sd, mapping, session, []);
  }

  /** The registered name (or `custom`). */
  get name(): string {
    return this.definition.arch.name;
  }

  /** Number of parameters, as the official model counts them. */
  get paramCount(): number {
    return countParams(this.definition.params);
  }

  /** (C, H, W) the model expects. */
  get inputShape(): readonly [number, number, number] {
    return this.definition.inputShape;
  }

  /**
   * Runs a batch (B, C, H, W) of preprocessed images.
   *
   * @example
   * ```ts
   * const { logits, features } = await model.predict(readNpy('input.npy'));
   * ```
   */
  async predict(input: Tensor): Promise<Prediction> {
    if (this.disposed) throw new FlattenError('usage', `this ${this.name} model was disposed; load it again`);
    this.checkInput(input.shape, 'input');
    const out = await this.session.run({ [INPUT_NAME]: input });
    const stageNames = this.definition.outputNames.filter((n) => n.startsWith('stage'));
    return {
      logits: out.logits,
      features: out.features,
      ...(stageNames.length > 0 ? { stages: stageNames.map((n) => out[n]) } : {}),
    };
  }

  /** Runs a batch and returns the named graph outputs (all when `names` is absent). */
  async outputs(input: Tensor, names?: readonly string[]): Promise<Record<string, Tensor>> {
    if (this.disposed) throw new FlattenError('usage', `this ${this.name} model was disposed; load it again`);
    this.checkInput(input.shape, 'input');
    return this.session.run({ [INPUT_NAME]: input }, names);
  }

  /** One parameter's weights, by flatten-vit's name, read from the checkpoint. */
  weight(name: string): Float32Array {
    const key = this.mapping.sources.get(name);
    if (key === undefined) throw new FlattenError('usage', `${this.name} has no parameter ${name}`);
    return this.stateDict.tensors.get(key)!.read();
  }

  /** Fails with a one-line error naming `source` unless `shape` is a batch this model accepts. */
  checkInput(shape: readonly number[], source: string): void {
    const [c, h, w] = this.inputShape;
    const s = shape;
    if (s.length !== 4 || s[1] !== c || s[2] !== h || s[3] !== w || s[0] < 1) {
      const label = this.name === 'custom' ? `this ${this.definition.arch.family.name} configuration` : this.name;
      throw new FlattenError('input', `${source}: expected (B, ${c}, ${h}, ${w}) float32 for ${label}, found ${formatShape(s)}`);
    }
  }

  /**
   * The model's weights under flatten-vit's names, read again from the checkpoint (nothing is kept
   * in memory between calls).
   */
  weights(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const p of this.definition.params) {
      const key = this.mapping.sources.get(p.name)!;
      out.set(p.name, { shape: p.shape, data: this.stateDict.tensors.get(key)!.read() });
    }
    return out;
  }

  private disposed = false;

  /** Releases the session and closes the checkpoint file. Calling it again does nothing. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.stateDict.close();
    await this.session.release();
  }
}

/** Maps the checkpoint onto the definition, failing with one line if it does not fit. */
export function checkFit(def: ModelDefinition, sd: StateDict): MappingReport {
  const shapes = new Map([...sd.tensors].map(([k, t]) => [k, t.shape] as const));
  const mapping = mapStateDict(def.params, shapes);
  if (!isExactFit(mapping)) {
    throw new FlattenError(
      'checkpoint',
      `${sd.source} does not fit ${def.arch.name === 'custom' ? `this ${def.arch.family.name} configuration` : def.arch.name}: ${describeMismatch(mapping)}; check --arch (or the config) against the checkpoint`,
    );
  }
  return mapping;
}

/** Reads each parameter from the checkpoint when the serializer asks for it; notes non-finite values. */
export function weightLookup(sd: StateDict, mapping: MappingReport, warnings: string[]): WeightLookup {
  return (name) => {
    const key = mapping.sources.get(name);
    if (key === undefined) throw new Error(`internal: no checkpoint key for parameter ${name}`);
    const data = sd.tensors.get(key)!.read();
    let bad = 0;
    for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) bad++;
    if (bad > 0) warnings.push(`${sd.source}: ${key} has ${bad} non-finite value(s) (NaN or Inf); outputs may be NaN`);
    return data;
  };
}
