/**
 * The training loop's state and one step of it, as `train_one_epoch` in `main_ema.py` runs it:
 * forward, loss and gradients in one run of the training graph (or of several parts of the batch,
 * their gradients summed); the global gradient norm, clipping, the optimizer step and the EMA in one
 * run of the update graph; `lr_scheduler.step_update(epoch · steps + idx)`. Weights, gradients,
 * optimizer state and EMA are flat buffers (layout.ts) that stay where the runtime computes — GPU
 * memory on WebGPU — and only the loss and the gradient norm come back each step. The same code runs
 * in Node and in the browser: it sees the runtime only as a {@link StepRuntime}.
 */
import { Graph, type ParamSpec } from '../graph/graph.js';
import { serializeModel } from '../graph/onnx.js';
import type { Architecture } from '../models/registry.js';
import { orderedParams } from '../models/state_order.js';
import type { DeviceTensor, StepRuntime, StepSession } from '../runtime/types.js';
import type { Tensor } from '../tensor.js';
import { FlattenError } from '../util/errors.js';
import { Random } from '../util/random.js';
import type { LabeledBatch } from '../data/sample_loader.js';
import { allBuffers, type FlatBuffer, pack, paramLayout, type ParamLayout, unpack } from './layout.js';
import { type ParamGroup, type ParamState, paramGroups } from './optimizer.js';
import { initialRates, learningRates, type ScheduleSettings } from './schedule.js';
import type { TrainSettings } from './settings.js';
import { defineEvalGraph, defineTrainingGraph, FEATURES_NAME, flatGradName, TARGETS_NAME, type TrainingGraph } from './training_graph.js';
import { defineUpdateGraph, nextName, nonEmptyGroups, stateKinds, updateScalars, type UpdateOptions } from './update_graph.js';
import { validate, type Validation } from './validate.js';

/** What one step reports (the `--json` line). */
export interface StepRecord {
  readonly epoch: number;
  readonly step: number;
  readonly loss: number;
  /** The learning rate this step used. */
  readonly lr: number;
  /** The total gradient norm before clipping. */
  readonly gradNorm: number;
  readonly clipped: boolean;
}

/** State restored from a checkpoint to continue a run. */
export interface ResumeState {
  /** The epoch to start at (the checkpoint's `epoch`). */
  readonly epoch: number;
  readonly maxAccuracy: number;
  readonly maxAccuracyEma: number;
  /** Per-parameter optimizer state, by our names. */
  readonly optimizerState: ReadonlyMap<string, ParamState>;
  /** The rate each group holds (the saved `param_groups[i].lr`). */
  readonly groupLrs: readonly number[];
  /** The saved scheduler settings, where they differ from the configuration's. */
  readonly schedule: Partial<ScheduleSettings>;
  /** EMA weights by our names, if the checkpoint has them. */
  readonly ema: ReadonlyMap<string, Float32Array> | null;
  /** Steps of `epoch` already done (a run interrupted within an epoch), and the generators' states. */
  readonly within?: { readonly step: number; readonly dropPath: number; readonly mixup: number };
}

/** Options of {@link Trainer.create}. */
export interface TrainerOptions {
  readonly settings: TrainSettings;
  readonly stepsPerEpoch: number;
  /** Initial weights of every parameter, by our name. */
  readonly weights: ReadonlyMap<string, Float32Array>;
  /** Where the step computes: `nodeStepRuntime()` in Node, `webStepRuntime()` in the browser. */
  readonly runtime: StepRuntime;
  readonly resume?: ResumeState;
  /** Seed of the stochastic-depth draws (default 0). */
  readonly seed?: number;
  /** Parameters kept fixed (see freeze.ts). */
  readonly frozen?: (p: ParamSpec) => boolean;
  /** Train the head alone on features (see `TrainingGraphOptions.fromFeatures`): batches are (B, C) features. */
  readonly fromFeatures?: boolean;
  /**
   * Images per run of the training graph (default: the whole batch). A smaller part divides the batch;
   * the parts' gradients are summed before the update, which then equals the whole batch's.
   */
  readonly part?: number;
}

/** What a checkpoint holds of a trainer: its weights, optimizer state and EMA, read from the device. */
export interface TrainerSnapshot {
  /** Every parameter by our name. */
  readonly params: Map<string, Float32Array>;
  /** Per-parameter optimizer state of the trained parameters. */
  readonly optimizerState: Map<string, ParamState>;
  readonly ema: Map<string, Float32Array> | null;
}

/** A session, the names of its outputs to keep on the device, and its inputs. */
interface Runner {
  readonly session: StepSession;
  readonly device: readonly string[];
  readonly inputs?: ReadonlySet<string>;
}

const inputsOf = (g: Graph): ReadonlySet<string> => new Set(g.inputs.map((i) => i.name));

const scalarTensor = (v: number): Tensor => ({ shape: [], data: Float32Array.of(v) });

/** A model being trained. */
export class Trainer {
  /** The epoch the next step belongs to. */
  epoch: number;
  maxAccuracy: number;
  maxAccuracyEma: number;
  /** AdamW's (or SGD's) step count: steps done so far, over the whole run. */
  private steps: number;
  /** Forward-only sessions for validation, by batch size. */
  private readonly evaluators = new Map<number, Promise<Runner>>();

  private constructor(
    readonly graph: TrainingGraph,
    readonly layout: ParamLayout,
    readonly runtime: StepRuntime,
    /** The training graph: forward, loss, gradients, and with the whole batch in one run the update too. */
    private readonly train: Runner,
    /** With a batch run in parts: the graph that adds two parts' gradients, and the update graph. */
    private readonly parts: { readonly sum: Runner; readonly update: Runner } | null,
    /** The names of the state the update reads and replaces (params, optimizer state, EMA). */
    private readonly stateNames: readonly string[],
    /** The weights, optimizer state and EMA, on the device. */
    private readonly state: Map<string, DeviceTensor>,
    /** Parameter specs in the official `named_parameters()` order. */
    readonly ordered: readonly ParamSpec[],
    /** The official groups with the rate each holds. */
    readonly groups: ParamGroup[],
    readonly schedule: ScheduleSettings,
    readonly stepsPerEpoch: number,
    readonly settings: TrainSettings,
    resume: ResumeState | undefined,
    /** Draws stochastic depth. */
    readonly dropPathRandom: Random,
    /** Draws mixup and cutmix. */
    readonly mixupRandom: Random,
  ) {
    this.epoch = resume?.epoch ?? 0;
    this.maxAccuracy = resume?.maxAccuracy ?? 0;
    this.maxAccuracyEma = resume?.maxAccuracyEma ?? 0;
    this.steps = firstStateStep(resume);
  }

  /** Whether the run keeps an EMA of the weights. */
  get hasEma(): boolean {
    return this.settings.emaDecay !== null;
  }

  /**
   * Builds the training and update graphs and their sessions, and puts the weights, optimizer state
   * and EMA on the device.
   *
   * @example
   * ```ts
   * const t = await Trainer.create(arch, { settings, stepsPerEpoch: 4, weights, runtime: nodeStepRuntime() });
   * const rec = await t.step(x, targets, 0);
   * ```
   */
  static async create(arch: Architecture, o: TrainerOptions): Promise<Trainer> {
    const B = o.settings.batch;
    const part = o.part ?? B;
    if (!(Number.isInteger(part) && part >= 1 && B % part === 0)) {
      throw new Error(`internal: a part of ${part} images does not divide the batch of ${B}`);
    }
    let groups: ParamGroup[] = [];
    let ordered: ParamSpec[] = [];
    // the official groups: with weight decay, then without
    const update: UpdateOptions = {
      optimizer: o.settings.optimizer,
      weightDecays: [o.settings.optimizer.weightDecay, 0],
      clipGrad: o.settings.clipGrad,
      emaDecay: o.settings.emaDecay,
    };
    // the whole batch in one run: the update at the end of the training graph, where its temporaries
    // take memory the backward pass has freed (Swin-T at batch 32: 0.9 GB less than a graph of its own)
    const whole = part === B;
    const graph = defineTrainingGraph(arch, {
      batch: part,
      nchwc: (await o.runtime.nchwcKernels?.()) ?? false,
      lossBatch: B,
      ...(whole ? { update } : {}),
      ...(o.frozen ? { frozen: o.frozen } : {}),
      ...(o.fromFeatures ? { fromFeatures: true } : {}),
      layout: (g, trained, fixed) => {
        // the official groups hold every parameter not frozen, those the forward pass never reads too
        // (AdamW skips them); the buffers of the groups hold the trained ones
        ordered = orderedParams(g);
        groups = paramGroups(
          ordered.filter((p) => !o.frozen?.(p)),
          arch.family,
          o.settings.optimizer.weightDecay,
          0,
        );
        const names = new Set(trained.map((p) => p.name));
        const fixedNames = new Set(fixed.map((p) => p.name));
        return paramLayout(
          groups.map((x) => x.params.filter((n) => names.has(n))),
          ordered.filter((p) => fixedNames.has(p.name)),
          g.params,
        );
      },
    });
    const layout = graph.layout!;
    const schedule = { ...o.settings.schedule(o.stepsPerEpoch, groups.length), ...(o.resume?.schedule ?? {}) };
    const rates = o.resume ? o.resume.groupLrs : initialRates(schedule);
    groups = groups.map((g, i) => ({ ...g, lr: rates[i], initialLr: schedule.baseLrs[i] }));
    const rt = o.runtime;
    const gradNames = nonEmptyGroups(layout).map((b) => flatGradName(b.name));
    let train: Runner;
    let parts: { sum: Runner; update: Runner } | null = null;
    let stateNames: readonly string[];
    if (whole) {
      stateNames = graph.updateState!;
      const next = stateNames.map(nextName);
      train = {
        session: await rt.createSession(serializeModel(graph.graph, noWeights), [...next, ...gradNames]),
        device: next,
        inputs: inputsOf(graph.graph),
      };
    } else {
      const upd = defineUpdateGraph(layout, update);
      stateNames = upd.state;
      const next = upd.state.map(nextName);
      train = {
        session: await rt.createSession(serializeModel(graph.graph, noWeights), gradNames),
        device: gradNames,
        inputs: inputsOf(graph.graph),
      };
      parts = {
        sum: await sumRunner(rt, nonEmptyGroups(layout)),
        update: { session: await rt.createSession(serializeModel(upd.graph, noWeights), next), device: next, inputs: inputsOf(upd.graph) },
      };
    }
    const state = await initialState(rt, layout, stateNames, o);
    const seed = o.seed ?? 0;
    const within = o.resume?.within;
    const dropPath = new Random(within ? within.dropPath : seed);
    const mixup = new Random(within ? within.mixup : seed + 1);
    return new Trainer(
      graph,
      layout,
      rt,
      train,
      parts,
      stateNames,
      state,
      ordered,
      groups,
      schedule,
      o.stepsPerEpoch,
      o.settings,
      o.resume,
      dropPath,
      mixup,
    );
  }

  /** Checks a batch against the graph's fixed shapes. */
  private checkBatch(x: Tensor, targets: Float32Array, where: string): void {
    const want = [this.settings.batch, ...this.graph.inputShape];
    if (x.shape.length !== want.length || x.shape.some((d, i) => d !== want[i])) {
      throw new FlattenError('input', `${where}: expected images of shape (${want.join(', ')}), found (${x.shape.join(', ')})`);
    }
    if (targets.length !== this.settings.batch * this.graph.numClasses) {
      throw new Error(`internal: targets for ${targets.length / this.graph.numClasses} images, expected ${this.settings.batch}`);
    }
  }

  /** The buffers a forward pass reads (the graph inputs among them): the weights, or their EMA. */
  private weightFeeds(inputs: ReadonlySet<string>, ema = false): Record<string, DeviceTensor> {
    const feeds: Record<string, DeviceTensor> = {};
    for (const b of allBuffers(this.layout)) if (inputs.has(b.name)) feeds[b.name] = this.state.get(ema ? `ema.${b.name}` : b.name)!;
    return feeds;
  }

  /**
   * One training step on a batch: `targets` are soft targets (B, K) from the criterion.
   * `onGradients` sees the gradients before clipping (our names; unused parameters absent).
   */
  async step(
    x: Tensor,
    targets: Float32Array,
    idx: number,
    where = 'batch',
    onGradients?: (grads: ReadonlyMap<string, Float32Array>) => void,
  ): Promise<StepRecord> {
    this.checkBatch(x, targets, where);
    const B = this.settings.batch;
    const part = this.graph.batch;
    const K = this.graph.numClasses;
    const per = x.data.length / B;
    // timm's DropPath: keep each sample's branch with probability 1 − p, scaled by 1/(1 − p); drawn
    // for the whole batch, block by block, whatever the parts
    const masks = this.graph.graph.dropPaths.map((d) => {
      const keep = 1 - d.rate;
      return Float32Array.from({ length: B }, () => (this.dropPathRandom.next() < keep ? 1 / keep : 0));
    });
    const batchFeeds = (start: number): Record<string, Tensor> => {
      const feeds: Record<string, Tensor> = {
        [this.graph.inputName]: { shape: [part, ...x.shape.slice(1)], data: x.data.subarray(start * per, (start + part) * per) },
        [TARGETS_NAME]: { shape: [part, K], data: targets.subarray(start * K, (start + part) * K) },
      };
      this.graph.graph.dropPaths.forEach((d, i) => (feeds[d.name] = { shape: d.shape, data: masks[i].subarray(start, start + part) }));
      return feeds;
    };
    const notFinite = (loss: number) =>
      new FlattenError(
        'training',
        `the loss became ${loss} at epoch ${this.epoch + 1}, step ${idx + 1} (${where}); its weights are not kept`,
      );
    const lr = this.groups[0].lr;
    this.steps += 1;
    const scalars: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(this.updateScalars())) scalars[k] = scalarTensor(v);
    let loss = 0;
    let gradNorm: number;
    if (!this.parts) {
      const gradNames = onGradients ? nonEmptyGroups(this.layout).map((b) => flatGradName(b.name)) : [];
      const out = await this.train.session.run(
        { ...this.stateFeeds(this.train.inputs!), ...batchFeeds(0), ...scalars },
        { host: ['loss', 'grad_norm'], device: [...this.train.device, ...gradNames], inPlace: this.inPlace() },
      );
      loss = out.host.loss.data[0];
      gradNorm = out.host.grad_norm.data[0];
      try {
        if (!Number.isFinite(loss)) throw notFinite(loss);
        if (onGradients) onGradients(await this.readGradients(out.device));
      } finally {
        for (const k of gradNames) out.device[k].dispose();
      }
      this.replaceState(out.device);
    } else {
      let grads: Record<string, DeviceTensor> | null = null;
      try {
        for (let start = 0; start < B; start += part) {
          const out = await this.train.session.run(
            { ...this.stateFeeds(this.train.inputs!), ...batchFeeds(start) },
            { host: ['loss'], device: this.train.device },
          );
          loss += out.host.loss.data[0];
          grads = grads ? await this.add(grads, out.device) : out.device;
        }
        if (!Number.isFinite(loss)) throw notFinite(loss);
        if (onGradients) onGradients(await this.readGradients(grads!));
        const out = await this.parts.update.session.run(
          { ...grads!, ...this.stateFeeds(this.parts.update.inputs!), ...scalars },
          { host: ['grad_norm'], device: this.parts.update.device, inPlace: this.inPlace() },
        );
        gradNorm = out.host.grad_norm.data[0];
        this.replaceState(out.device);
      } finally {
        for (const t of Object.values(grads ?? {})) t.dispose();
      }
    }
    const rates = learningRates(this.schedule, this.epoch * this.stepsPerEpoch + idx);
    this.groups.forEach((g, i) => (g.lr = rates[i]));
    const clipped = this.settings.clipGrad !== null && Math.fround(this.settings.clipGrad / Math.fround(gradNorm + 1e-6)) < 1;
    return { epoch: this.epoch, step: idx, loss, lr, gradNorm, clipped };
  }

  /** The state a graph reads (the graph inputs among it): weights, fixed parameters, optimizer state, EMA. */
  private stateFeeds(inputs: ReadonlySet<string>): Record<string, DeviceTensor> {
    const feeds: Record<string, DeviceTensor> = {};
    for (const [k, t] of this.state) if (inputs.has(k)) feeds[k] = t;
    return feeds;
  }

  /** Each `next.` output may take the memory of the state it replaces. */
  private inPlace(): Record<string, string> {
    return Object.fromEntries(this.stateNames.map((k) => [nextName(k), k]));
  }

  /** Puts an update's outputs in place of the state they replace. */
  private replaceState(outputs: Record<string, DeviceTensor>): void {
    for (const k of this.stateNames) {
      this.state.get(k)!.dispose();
      this.state.set(k, outputs[nextName(k)]);
    }
  }

  /** The rates and bias corrections this step's update is fed. */
  private updateScalars(): Record<string, number> {
    return updateScalars(
      this.settings.optimizer,
      nonEmptyGroups(this.layout).map((b) => {
        const index = Number(b.name.slice('params.'.length));
        return { lr: this.groups[index].lr, wd: this.groups[index].weightDecay, index };
      }),
      this.steps,
    );
  }

  /** The sum of two parts' gradients; both parts are freed. */
  private async add(a: Record<string, DeviceTensor>, b: Record<string, DeviceTensor>): Promise<Record<string, DeviceTensor>> {
    const feeds: Record<string, DeviceTensor> = {};
    for (const k of Object.keys(a)) {
      feeds[`a.${k}`] = a[k];
      feeds[`b.${k}`] = b[k];
    }
    try {
      const out = await this.parts!.sum.session.run(feeds, { host: [], device: this.parts!.sum.device });
      return Object.fromEntries(Object.keys(a).map((k) => [k, out.device[`sum.${k}`]]));
    } finally {
      for (const t of Object.values(feeds)) t.dispose();
    }
  }

  /** The flat gradients split by parameter (our names). */
  private async readGradients(grads: Record<string, DeviceTensor>): Promise<Map<string, Float32Array>> {
    const out = new Map<string, Float32Array>();
    for (const b of nonEmptyGroups(this.layout)) unpack(b, await grads[flatGradName(b.name)].read(), out);
    return out;
  }

  /**
   * The logits of a batch, from the weights (or their EMA) where they are. A batch smaller than the
   * training batch is padded to it, so one forward graph serves every validation batch.
   *
   * @example
   * ```ts
   * const { data } = await trainer.logits(x);
   * ```
   */
  async logits(x: Tensor, ema = false): Promise<Tensor> {
    const n = x.shape[0];
    const batch = Math.max(n, this.settings.batch);
    let runner = this.evaluators.get(batch);
    if (!runner) {
      const g = defineEvalGraph(this.graph.arch, batch, this.layout, this.graph.inputName === FEATURES_NAME, this.graph.nchwc);
      runner = this.runtime
        .createSession(serializeModel(g, noWeights), [])
        .then((session) => ({ session, device: [], inputs: inputsOf(g) }));
      this.evaluators.set(batch, runner);
    }
    const { session, inputs } = await runner;
    const per = x.data.length / n;
    let data = x.data;
    if (n < batch) {
      data = new Float32Array(batch * per);
      data.set(x.data);
    }
    const feeds = { ...this.weightFeeds(inputs!, ema), [this.graph.inputName]: { shape: [batch, ...x.shape.slice(1)], data } };
    const { logits } = (await session.run(feeds, { host: ['logits'], device: [] })).host;
    const K = logits.shape[1];
    return { shape: [n, K], data: logits.data.subarray(0, n * K) };
  }

  /**
   * Validates the current weights (or their EMA) on labelled batches.
   *
   * @example
   * ```ts
   * const v = await trainer.evaluate(data.validation()!);
   * ```
   */
  evaluate(batches: AsyncIterable<LabeledBatch>, ema = false): Promise<Validation> {
    return validate((x) => this.logits(x, ema), batches);
  }

  /**
   * Reads the weights, optimizer state and EMA back from the device (a download on a GPU), for a
   * checkpoint.
   */
  async snapshot(): Promise<TrainerSnapshot> {
    const read = async (name: string) => this.state.get(name)!.read();
    const params = new Map<string, Float32Array>();
    for (const b of allBuffers(this.layout)) if (b.size > 0) unpack(b, await read(b.name), params);
    const optimizerState = new Map<string, ParamState>();
    const kinds = stateKinds(this.settings.optimizer);
    for (const b of nonEmptyGroups(this.layout)) {
      const i = b.name.slice('params.'.length);
      const parts = await Promise.all(kinds.map(async (k) => unpack(b, await read(`${k}.${i}`))));
      for (const s of b.slots) {
        const n = s.param.name;
        optimizerState.set(
          n,
          this.settings.optimizer.name === 'adamw'
            ? { step: this.steps, expAvg: parts[0].get(n)!, expAvgSq: parts[1].get(n)! }
            : { step: this.steps, momentumBuffer: parts[0].get(n)! },
        );
      }
    }
    let ema: Map<string, Float32Array> | null = null;
    if (this.hasEma) {
      ema = new Map();
      for (const b of allBuffers(this.layout)) if (b.size > 0) unpack(b, await read(`ema.${b.name}`), ema);
    }
    return { params, optimizerState, ema };
  }

  /** Frees the sessions and the state on the device. */
  async release(): Promise<void> {
    for (const t of this.state.values()) t.dispose();
    this.state.clear();
    const sessions = [this.train.session, ...(this.parts ? [this.parts.sum.session, this.parts.update.session] : [])];
    for (const r of await Promise.all(this.evaluators.values())) sessions.push(r.session);
    for (const s of sessions) await s.release();
  }
}

const noWeights = () => new Float32Array();

/** The optimizer's step count of a resumed run (PyTorch keeps one per parameter; they are equal). */
function firstStateStep(resume: ResumeState | undefined): number {
  for (const s of resume?.optimizerState.values() ?? []) return s.step;
  return 0;
}

/** A graph that adds two sets of flat gradients: `a.grads.<i>` + `b.grads.<i>` → `sum.grads.<i>`. */
async function sumRunner(rt: StepRuntime, groups: readonly FlatBuffer[]): Promise<Runner> {
  const g = new Graph('fp32', { batch: 1 });
  const device: string[] = [];
  for (const b of groups) {
    const k = flatGradName(b.name);
    const y = g.node('Add', [g.fixedInput(`a.${k}`, [b.size]), g.fixedInput(`b.${k}`, [b.size])], {}, [[b.size]])[0];
    g.output(y, `sum.${k}`);
    device.push(`sum.${k}`);
  }
  return { session: await rt.createSession(serializeModel(g, noWeights), device), device };
}

/**
 * The update graph's state on the device: the weights packed into their buffers, the optimizer state
 * (zeros, or the resumed run's), the EMA (a copy of the weights, or the resumed run's).
 */
async function initialState(
  rt: StepRuntime,
  layout: ParamLayout,
  stateNames: readonly string[],
  o: TrainerOptions,
): Promise<Map<string, DeviceTensor>> {
  const state = new Map<string, DeviceTensor>();
  const put = async (name: string, data: Float32Array) => state.set(name, await rt.upload({ shape: [data.length], data }));
  const weight = (name: string) => {
    const w = o.weights.get(name);
    if (!w) throw new Error(`internal: no initial weights for ${name}`);
    return w;
  };
  const kinds = stateKinds(o.settings.optimizer);
  for (const b of allBuffers(layout)) {
    if (b.size === 0) continue;
    await put(b.name, pack(b, weight));
    if (o.settings.emaDecay !== null) {
      const ema = o.resume?.ema;
      await put(
        `ema.${b.name}`,
        pack(b, (n) => ema?.get(n) ?? weight(n)),
      );
    }
  }
  for (const b of nonEmptyGroups(layout)) {
    const i = b.name.slice('params.'.length);
    const saved = (n: string) => o.resume?.optimizerState.get(n);
    const kind: Record<string, (s: ParamState | undefined) => Float32Array | undefined> = {
      exp_avg: (s) => s?.expAvg,
      exp_avg_sq: (s) => s?.expAvgSq,
      momentum: (s) => s?.momentumBuffer,
    };
    for (const k of kinds)
      await put(
        `${k}.${i}`,
        pack(b, (n) => kind[k](saved(n)) ?? new Float32Array(numelOf(b, n))),
      );
  }
  for (const k of stateNames) if (!state.has(k)) throw new Error(`internal: no initial value for ${k}`);
  return state;
}

const numelOf = (b: FlatBuffer, name: string): number => b.slots.find((s) => s.param.name === name)!.size;
