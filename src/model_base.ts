/**
 * A FLatten model with its weights and a runtime session, independent of the runtime: what Node's
 * `FlattenModel` and the browser's `WebModel` share (running batches, reading outputs and weights,
 * checking inputs, releasing the session).
 */
import type { StateDict } from './checkpoint/lazy.js';
import type { WeightLookup } from './graph/graph.js';
import { serializeModel } from './graph/onnx.js';
import { countParams, INPUT_NAME, type ModelDefinition } from './models/define.js';
import { describeMismatch, isExactFit, mapStateDict, type MappingReport } from './models/mapping.js';
import type { RuntimeSession } from './runtime/types.js';
import { formatShape, type Tensor } from './tensor.js';
import { FlattenError } from './util/errors.js';

/** What {@link ModelBase.predict} returns. */
export interface Prediction {
  /** (B, num_classes) */
  logits: Tensor;
  /** (B, C): pooled features before the head. */
  features: Tensor;
  /** Stage outputs (B, N, C), when the model was loaded with `stages: true`. */
  stages?: Tensor[];
}

/** A model, its weights and a session; created by `FlattenModel.load` (Node) or `WebModel.load` (browser). */
export class ModelBase {
  private disposed = false;

  /** Used by `FlattenModel.load` and `WebModel.load`; call those instead. */
  constructor(
    readonly definition: ModelDefinition,
    protected readonly stateDict: StateDict,
    readonly mapping: MappingReport,
    private readonly session: RuntimeSession,
    /** Warnings about the weights (non-finite values), one line each. */
    readonly warnings: readonly string[],
  ) {}

  /** The registered name (or `custom`). */
  get name(): string {
    return this.definition.arch.name;
  }

  /** Number of parameters, as the official model counts them. */
  get paramCount(): number {
    return countParams(this.definition.params);
  }

  /** Class names in class-index order, when the checkpoint carries them (a flatten-vit ImageFolder run). */
  get classNames(): readonly string[] | undefined {
    return this.stateDict.classNames;
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
    const out = await this.runInChunks(input);
    this.ran();
    const stageNames = this.definition.outputNames.filter((n) => n.startsWith('stage'));
    return {
      logits: out.logits,
      features: out.features,
      ...(stageNames.length > 0 ? { stages: stageNames.map((n) => out[n]) } : {}),
    };
  }

  /**
   * Runs a batch of any size as runs of at most {@link MAX_RUN_BATCH} images, so that memory follows
   * the chunk rather than the batch, and joins the outputs; fails before the second run if the joined
   * outputs would exceed {@link MAX_OUTPUT_FLOATS}.
   */
  private async runInChunks(input: Tensor): Promise<Record<string, Tensor>> {
    const [b, ...rest] = input.shape;
    if (b <= MAX_RUN_BATCH) return this.session.run({ [INPUT_NAME]: input });
    const per = rest.reduce((a, d) => a * d, 1);
    const joined: Record<string, Tensor> = {};
    for (let start = 0; start < b; start += MAX_RUN_BATCH) {
      const n = Math.min(MAX_RUN_BATCH, b - start);
      const chunk = { shape: [n, ...rest], data: input.data.subarray(start * per, (start + n) * per) };
      const out = await this.session.run({ [INPUT_NAME]: chunk });
      if (start === 0) {
        const floats = Object.values(out).reduce((a, t) => a + (t.data.length / n) * b, 0);
        if (floats > MAX_OUTPUT_FLOATS) {
          throw new FlattenError(
            'input',
            `a batch of ${b} images would produce ${floats} output values, more than the ${MAX_OUTPUT_FLOATS} allowed; run fewer images at a time`,
          );
        }
        for (const [k, t] of Object.entries(out)) {
          joined[k] = { shape: [b, ...t.shape.slice(1)], data: new Float32Array((t.data.length / n) * b) };
        }
      }
      for (const [k, t] of Object.entries(out)) joined[k].data.set(t.data, (start * t.data.length) / n);
    }
    return joined;
  }

  /** Runs a batch and returns the named graph outputs (all when `names` is absent). */
  async outputs(input: Tensor, names?: readonly string[]): Promise<Record<string, Tensor>> {
    if (this.disposed) throw new FlattenError('usage', `this ${this.name} model was disposed; load it again`);
    this.checkInput(input.shape, 'input');
    const out = await this.session.run({ [INPUT_NAME]: input }, names);
    this.ran();
    return out;
  }

  /** Called after every successful run; a subclass may act on the first one. */
  protected ran(): void {}

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

  /** Releases the session and closes the checkpoint file. Calling it again does nothing. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.stateDict.close();
    await this.session.release();
  }
}

/** The most images one run of the session takes; {@link ModelBase.predict} splits larger batches. */
export const MAX_RUN_BATCH = 64;

/** The most output values (all outputs of a batch together, 1 GiB as float32) `predict` returns. */
export const MAX_OUTPUT_FLOATS = 2 ** 28;

/** A state dict over weights already in memory, by flatten-vit's parameter names. */
export function memoryStateDict(def: ModelDefinition, weights: ReadonlyMap<string, Float32Array>, source: string): StateDict {
  const tensors = new Map(
    [...weights].map(([k, v]) => [k, { dtype: 'float32' as const, shape: def.graph.params.get(k)?.shape ?? [v.length], read: () => v }]),
  );
  return { source, format: 'safetensors', entry: '(root)', tensors, otherEntries: [], close: () => {} };
}

/** Maps the checkpoint onto the definition, failing with one line if it does not fit. */
export function checkFit(def: ModelDefinition, sd: StateDict, hint = 'check --arch (or the config) against the checkpoint'): MappingReport {
  const shapes = new Map([...sd.tensors].map(([k, t]) => [k, t.shape] as const));
  const mapping = mapStateDict(def.params, shapes);
  if (!isExactFit(mapping)) {
    throw new FlattenError(
      'checkpoint',
      `${sd.source} does not fit ${def.arch.name === 'custom' ? `this ${def.arch.family.name} configuration` : def.arch.name}: ${describeMismatch(mapping)}; ${hint}`,
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

/**
 * A model with its weights as a standard ONNX file (opset 17): input `pixel_values`, outputs `logits`
 * and `features`, the architecture in the metadata; what `flatten-vit export` writes and the training
 * page downloads.
 *
 * @example
 * ```ts
 * const bytes = exportOnnx(defineModel(arch), readCheckpoint(new MemorySource(pth)), []);
 * ```
 */
export function exportOnnx(
  def: ModelDefinition,
  sd: StateDict,
  warnings: string[],
  batch?: number,
  metadata: Record<string, string> = {},
): Uint8Array {
  const mapping = checkFit(def, sd);
  return serializeModel(def.graph, weightLookup(sd, mapping, warnings), {
    ...(batch !== undefined ? { batch } : {}),
    name: def.arch.name,
    metadata: {
      arch: def.arch.name,
      family: def.arch.family.name,
      args: JSON.stringify(def.arch.args),
      source: 'flatten-vit',
      ...metadata,
    },
  });
}
