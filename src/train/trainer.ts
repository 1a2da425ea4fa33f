/**
 * The training loop's state and one step of it, as `train_one_epoch` in `main_ema.py` runs it:
 * forward, loss and gradients in one onnxruntime call of the training graph; the global gradient
 * norm and clipping; the optimizer step; `lr_scheduler.step_update(epoch · steps + idx)`; the EMA
 * update. The weights, gradients, optimizer state and EMA live here as float32 arrays, outside the
 * graph, so one built graph serves every step.
 */
import type { ParamSpec } from '../graph/graph.js';
import { serializeModel } from '../graph/onnx.js';
import { INPUT_NAME } from '../models/define.js';
import type { Architecture } from '../models/registry.js';
import { orderedParams } from '../models/state_order.js';
import { createSession, type RuntimeOptions, type RuntimeSession } from '../runtime/session.js';
import type { Tensor } from '../tensor.js';
import { FlattenError } from '../util/errors.js';
import { clipGradients, totalNorm } from './clip.js';
import { ModelEma } from './ema.js';
import { Optimizer, type ParamState, paramGroups } from './optimizer.js';
import { Random } from '../util/random.js';
import { initialRates, learningRates, type ScheduleSettings } from './schedule.js';
import type { TrainSettings } from './settings.js';
import { defineTrainingGraph, gradName, TARGETS_NAME, type TrainingGraph } from './training_graph.js';

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
  /** Initial weights of every parameter, by our name (copied). */
  readonly weights: ReadonlyMap<string, Float32Array>;
  readonly runtime?: RuntimeOptions;
  readonly resume?: ResumeState;
  /** Seed of the stochastic-depth draws (default 0). */
  readonly seed?: number;
  /** Parameters kept fixed (see freeze.ts). */
  readonly frozen?: (p: ParamSpec) => boolean;
}

/** A model being trained. */
export class Trainer {
  /** The epoch the next step belongs to. */
  epoch: number;
  maxAccuracy: number;
  maxAccuracyEma: number;

  private constructor(
    readonly graph: TrainingGraph,
    private readonly session: RuntimeSession,
    readonly params: Map<string, Float32Array>,
    /** Parameter specs in the official `named_parameters()` order. */
    readonly ordered: readonly ParamSpec[],
    readonly optimizer: Optimizer,
    readonly schedule: ScheduleSettings,
    readonly stepsPerEpoch: number,
    readonly settings: TrainSettings,
    readonly ema: ModelEma | null,
    resume: ResumeState | undefined,
    /** Draws stochastic depth. */
    readonly dropPathRandom: Random,
    /** Draws mixup and cutmix. */
    readonly mixupRandom: Random,
  ) {
    this.epoch = resume?.epoch ?? 0;
    this.maxAccuracy = resume?.maxAccuracy ?? 0;
    this.maxAccuracyEma = resume?.maxAccuracyEma ?? 0;
  }

  /**
   * Builds the training graph and its session, and the optimizer, schedule and EMA.
   *
   * @example
   * ```ts
   * const t = await Trainer.create(arch, { settings, stepsPerEpoch: 4, weights });
   * const rec = await t.step(x, targets, 0);
   * ```
   */
  static async create(arch: Architecture, o: TrainerOptions): Promise<Trainer> {
    const graph = defineTrainingGraph(arch, { batch: o.settings.batch, ...(o.frozen ? { frozen: o.frozen } : {}) });
    const ordered = orderedParams(graph.graph);
    const params = new Map<string, Float32Array>();
    for (const p of graph.params) {
      const w = o.weights.get(p.name);
      if (!w) throw new Error(`internal: no initial weights for ${p.name}`);
      params.set(p.name, Float32Array.from(w));
    }
    const groups = paramGroups(
      ordered.filter((p) => !o.frozen?.(p)),
      arch.family,
      o.settings.optimizer.weightDecay,
      0,
    );
    const schedule = { ...o.settings.schedule(o.stepsPerEpoch, groups.length), ...(o.resume?.schedule ?? {}) };
    const rates = o.resume ? o.resume.groupLrs : initialRates(schedule);
    const optimizer = new Optimizer(
      o.settings.optimizer,
      groups.map((g, i) => ({ ...g, lr: rates[i], initialLr: schedule.baseLrs[i] })),
    );
    for (const [name, s] of o.resume?.optimizerState ?? []) optimizer.state.set(name, s);
    let ema: ModelEma | null = null;
    if (o.settings.emaDecay !== null) {
      ema = o.resume?.ema ? new ModelEma(o.settings.emaDecay, new Map(o.resume.ema)) : ModelEma.from(params, o.settings.emaDecay);
    }
    const session = await createSession(
      serializeModel(graph.graph, () => new Float32Array()),
      { memoryPattern: false, ...o.runtime },
    );
    const seed = o.seed ?? 0;
    const within = o.resume?.within;
    const dropPath = new Random(within ? within.dropPath : seed);
    const mixup = new Random(within ? within.mixup : seed + 1);
    return new Trainer(graph, session, params, ordered, optimizer, schedule, o.stepsPerEpoch, o.settings, ema, o.resume, dropPath, mixup);
  }

  /** Checks a batch against the graph's fixed shapes. */
  private checkBatch(x: Tensor, targets: Float32Array, where: string): void {
    const want = [this.graph.batch, ...this.graph.inputShape];
    if (x.shape.length !== 4 || x.shape.some((d, i) => d !== want[i])) {
      throw new FlattenError('input', `${where}: expected images of shape (${want.join(', ')}), found (${x.shape.join(', ')})`);
    }
    if (targets.length !== this.graph.batch * this.graph.numClasses) {
      throw new Error(`internal: targets for ${targets.length / this.graph.numClasses} images, expected ${this.graph.batch}`);
    }
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
    const feeds: Record<string, Tensor> = {
      [INPUT_NAME]: x,
      [TARGETS_NAME]: { shape: [this.graph.batch, this.graph.numClasses], data: targets },
    };
    for (const p of this.graph.fed) feeds[p.name] = { shape: p.shape, data: this.params.get(p.name)! };
    for (const d of this.graph.graph.dropPaths) {
      // timm's DropPath: keep each sample's branch with probability 1 − p, scaled by 1/(1 − p)
      const keep = 1 - d.rate;
      const mask = Float32Array.from({ length: this.graph.batch }, () => (this.dropPathRandom.next() < keep ? 1 / keep : 0));
      feeds[d.name] = { shape: d.shape, data: mask };
    }
    const out = await this.session.run(feeds);
    const loss = out.loss.data[0];
    if (!Number.isFinite(loss)) {
      throw new FlattenError(
        'training',
        `the loss became ${loss} at epoch ${this.epoch + 1}, step ${idx + 1} (${where}); the weights were not updated with it`,
      );
    }
    const grads = new Map(this.graph.trained.map((p) => [p.name, out[gradName(p.name)].data]));
    onGradients?.(grads);
    const lr = this.optimizer.groups[0].lr;
    const gradNorm = totalNorm(grads.values());
    const clipped = this.settings.clipGrad !== null && clipGradients(grads.values(), gradNorm, this.settings.clipGrad);
    this.optimizer.step(this.params, grads);
    const rates = learningRates(this.schedule, this.epoch * this.stepsPerEpoch + idx);
    this.optimizer.groups.forEach((g, i) => (g.lr = rates[i]));
    this.ema?.update(this.params);
    return { epoch: this.epoch, step: idx, loss, lr, gradNorm, clipped };
  }

  /** Frees the onnxruntime session. */
  async release(): Promise<void> {
    await this.session.release();
  }
}
