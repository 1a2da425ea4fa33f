/**
 * Training in the browser: the official training step, optimizer, schedule, clipping, EMA,
 * stochastic depth, mixup/cutmix and augmentation — the same code as `flatten-vit train` (trainer.ts,
 * loop.ts), run by onnxruntime-web. On WebGPU the weights, optimizer state and EMA stay in GPU
 * buffers between steps; only the loss and the gradient norm are read back each step, and the
 * weights when a checkpoint is made. Images are held by the caller (IndexedDB, files, a webcam) and
 * read by key; checkpoints come out as `.pth` bytes in the layout `flatten-vit train` writes.
 */
import { readCheckpoint } from '../checkpoint/read.js';
import { MemorySource } from '../checkpoint/source.js';
import { torchArchive } from '../checkpoint/torch_save.js';
import { sampleFromBytes, type Sample } from '../data/sample.js';
import { SampleLoader } from '../data/sample_loader.js';
import { serializeModel } from '../graph/onnx.js';
import { defineModel, INPUT_NAME } from '../models/define.js';
import { type Architecture, type ArchitectureConfig, resolveArchitecture } from '../models/registry.js';
import { configureWebRuntime, createWebSession, type WebBackend, type WebRuntimeInfo, webStepRuntime } from '../runtime/web.js';
import type { StepRuntime } from '../runtime/types.js';
import type { Tensor } from '../tensor.js';
import { trainingArchitecture } from '../train/architecture.js';
import { buildConfig, type TrainingConfig } from '../train/config.js';
import { type EpochRecord, freezePredicate, type LoopResult, type StartFrom, startingState, trainEpochs } from '../train/loop.js';
import { trainSettings, type TrainSettings, transformSettings } from '../train/settings.js';
import { type StepRecord, Trainer } from '../train/trainer.js';
import { samplesData, type TrainData } from '../train/train_data.js';
import { FlattenError } from '../util/errors.js';
import { fitPart } from './memory.js';

/** Where a run in the browser starts: fresh weights, a checkpoint to fine-tune, or a run to resume. */
export type WebStart =
  { kind: 'scratch' } | { kind: 'checkpoint'; bytes: Uint8Array; name: string } | { kind: 'resume'; bytes: Uint8Array; name: string };

/** Options of {@link WebTrainer.create}. */
export interface WebTrainerOptions {
  /** A registered name or `{ family, args }`; its head is given one output per class. */
  arch: string | ArchitectureConfig;
  /** Class names, in label order. */
  classes: readonly string[];
  /** Training images: `path` is the key `read` takes. */
  train: readonly Sample[];
  /** Validation images, or null. */
  val: readonly Sample[] | null;
  /** The bytes of an image (PNG or JPEG) by key. */
  read: (key: string) => Promise<Uint8Array>;
  /** Official config keys over the defaults, as `--opts` takes them: `['DATA.BATCH_SIZE', '16', 'TRAIN.EPOCHS', '5']`. */
  opts?: readonly string[];
  /** EMA decay (`--model-ema-decay`), or null (the default) for none. */
  emaDecay?: number | null;
  start?: WebStart;
  /** `backbone` (a linear probe) or `stages:A-B`. */
  freeze?: string;
  /** Seed of initial weights, data order, augmentation, stochastic depth and mixup (default: the config's SEED). */
  seed?: number;
  /** `auto` (default): WebGPU when the browser has an adapter, WASM otherwise. */
  backend?: WebBackend | 'auto';
  threads?: number;
  /** Images per run of the training graph; default the whole batch, or on WASM the most that fit its memory. */
  part?: number;
  /**
   * False: training images get the evaluation transform (see `TransformSettings.augment`) and no mixup
   * or cutmix; with `freeze: 'backbone'` and no stochastic depth that makes a linear probe, trained on
   * features computed once. Default true.
   */
  augment?: boolean;
  /** Something the user should know that does not stop the run (a re-initialised head). */
  onWarning?: (message: string) => void;
  /** Progress of work before the first step: the features a linear probe trains on. */
  onPrepare?: (done: number, total: number) => void;
  /** Called once for each image that cannot be used; it is skipped. */
  onSkip?: (reason: string) => void;
}

/** What the page needs to know about a built run. */
export interface WebTrainInfo {
  readonly runtime: WebRuntimeInfo;
  readonly arch: string;
  readonly family: string;
  readonly batch: number;
  /** Images per run of the training graph (the batch, or a part of it whose gradients are summed). */
  readonly part: number;
  readonly stepsPerEpoch: number;
  readonly totalEpochs: number;
  /** The epoch and step the run starts at (after a resume). */
  readonly startEpoch: number;
  readonly startStep: number;
  readonly inputSize: number;
}

/** Hooks of {@link WebTrainer.run}. */
export interface WebTrainHooks {
  /** Called after every step with its record and the run's total steps. */
  onStep?: (rec: StepRecord, steps: number) => void;
  /** Called after every epoch (validation included). */
  onEpoch?: (e: EpochRecord) => void;
  /**
   * A checkpoint (`.pth` bytes) after every epoch, or of a run stopped or paused within an epoch
   * (`stepInEpoch` > 0); the page keeps it so a reload resumes there.
   */
  onCheckpoint?: (pth: Blob, at: { epoch: number; stepInEpoch: number; best: boolean }) => Promise<void>;
}

/** The images of a run, decoded and transformed in this thread as the trainer asks for them. */
function browserData(o: WebTrainerOptions, config: TrainingConfig, seed: number): TrainData {
  const settings = { ...transformSettings(config), augment: o.augment ?? true };
  const loader = new SampleLoader({
    shape: [3, settings.size, settings.size],
    run: async (job) => {
      let bytes: Uint8Array;
      try {
        bytes = await o.read(job.path);
      } catch (e) {
        return { ok: false, reason: `${job.path}: could not be read (${(e as Error).message})` };
      }
      return sampleFromBytes(bytes, job, settings);
    },
    ...(o.onSkip ? { onSkip: o.onSkip } : {}),
  });
  return samplesData({ train: o.train, val: o.val, classes: o.classes, settings, seed, loader });
}

/**
 * The data of a linear probe: every image's pooled features under the frozen backbone, computed once
 * (the evaluation transform, in batches), then served as the training and validation samples.
 */
async function featureData(
  arch: Architecture,
  weights: ReadonlyMap<string, Float32Array>,
  o: WebTrainerOptions,
  config: TrainingConfig,
  seed: number,
  backend: WebBackend,
): Promise<TrainData> {
  const def = defineModel(arch);
  const session = await createWebSession(
    serializeModel(def.graph, (n) => weights.get(n)!),
    backend,
  );
  const settings = { ...transformSettings(config), augment: false };
  const all = [...o.train, ...(o.val ?? [])];
  const decoded = new Set<string>();
  const loader = new SampleLoader({
    shape: [3, settings.size, settings.size],
    run: async (job) => {
      const r = sampleFromBytes(await o.read(job.path), job, settings);
      if (r.ok) decoded.add(job.path);
      return r;
    },
    ...(o.onSkip ? { onSkip: o.onSkip } : {}),
  });
  const rows: Float32Array[] = [];
  for await (const b of loader.valEpoch(all, 16)) {
    const { features } = await session.run({ [INPUT_NAME]: b.x }, ['features']);
    const C = features.shape[1];
    for (let i = 0; i < b.labels.length; i++) rows.push(features.data.slice(i * C, (i + 1) * C));
    o.onPrepare?.(rows.length, all.length);
  }
  await session.release();
  // the loader skips what it cannot decode and keeps the order of the rest
  const cache = new Map(all.filter((s) => decoded.has(s.path)).map((s, i) => [s.path, rows[i]]));
  const known = (list: readonly Sample[]) => list.filter((s) => cache.has(s.path));
  const C = rows[0]?.length ?? 0;
  return samplesData({
    train: known(o.train),
    val: o.val ? known(o.val) : null,
    classes: o.classes,
    settings,
    seed,
    loader: new SampleLoader({ shape: [C], run: (job) => Promise.resolve({ ok: true, x: cache.get(job.path)! }) }),
  });
}

/**
 * A training run in the browser.
 *
 * @example
 * ```ts
 * const t = await WebTrainer.create({ arch: 'flatten_pvt_v2_b0', classes: ['cat', 'dog'], train, val, read,
 *   opts: ['DATA.BATCH_SIZE', '16', 'TRAIN.EPOCHS', '5'] });
 * await t.run({ onStep: (r) => console.log(r.loss), onCheckpoint: (pth) => save(pth) });
 * ```
 */
export class WebTrainer {
  private paused: { resume: () => void; promise: Promise<void> } | null = null;
  private readonly stopFlag = { requested: false };

  private constructor(
    readonly trainer: Trainer,
    private readonly runtime: StepRuntime,
    private readonly data: TrainData,
    readonly config: TrainingConfig,
    readonly settings: TrainSettings,
    readonly info: WebTrainInfo,
  ) {}

  /** Builds the run: the architecture for the classes, the recipe, the graphs and the state on the device. */
  static async create(o: WebTrainerOptions): Promise<WebTrainer> {
    if (o.classes.length < 2) throw new FlattenError('input', `training needs at least two classes, found ${o.classes.length}`);
    const base = resolveArchitecture(o.arch);
    const size = base.family.inputSize(base.args)[0];
    // augmentation off: the evaluation transform (see browserData), and no mixup or cutmix
    const off = o.augment === false ? ['AUG.MIXUP', '0', 'AUG.CUTMIX', '0', 'AUG.CUTMIX_MINMAX', 'null'] : [];
    const config = buildConfig(
      [],
      ['DATA.IMG_SIZE', String(size), 'MODEL.NUM_CLASSES', String(o.classes.length), ...(o.opts ?? []), ...off],
    );
    const arch = trainingArchitecture(config, base);
    const settings = trainSettings(config, { emaDecay: o.emaDecay ?? null });
    const seed = o.seed ?? (config.tree.SEED as number);
    const runtime = await configureWebRuntime({ backend: o.backend, threads: o.threads });
    let data = browserData(o, config, seed);
    const [h, w] = arch.family.inputSize(arch.args);
    data.check([arch.args.in_chans as number, h, w], o.classes.length, settings.batch);
    const frozen = freezePredicate(arch, o.freeze);
    const start = o.start ?? { kind: 'scratch' };
    const from: StartFrom =
      start.kind === 'scratch'
        ? start
        : start.kind === 'checkpoint'
          ? { kind: 'checkpoint', name: start.name, open: () => readCheckpoint(new MemorySource(start.bytes, start.name)) }
          : { kind: 'resume', source: new MemorySource(start.bytes, start.name) };
    const { weights, resume } = startingState(arch, settings, from, {
      seed,
      ...(o.freeze ? { freeze: o.freeze } : {}),
      ...(o.onWarning ? { onWarning: o.onWarning } : {}),
    });
    // a linear probe whose inputs never change (no augmentation, mixing or stochastic depth) trains
    // the head on the backbone's features, computed once per image
    const probe = o.freeze === 'backbone' && o.augment === false && settings.mixing === null && !((arch.args.drop_path_rate as number) > 0);
    if (probe) {
      await data.close();
      data = await featureData(arch, weights, o, config, seed, runtime.backend);
      data.check([arch.args.in_chans as number, h, w], o.classes.length, settings.batch);
    }
    const part = o.part ?? (runtime.backend === 'wasm' && !probe ? fitPart(arch, settings.batch, frozen) : settings.batch);
    const stepRuntime = webStepRuntime(runtime.backend);
    const trainer = await Trainer.create(arch, {
      settings,
      stepsPerEpoch: data.steps,
      weights,
      runtime: stepRuntime,
      seed,
      part,
      fromFeatures: probe,
      ...(resume ? { resume } : {}),
      ...(frozen ? { frozen } : {}),
    });
    const info: WebTrainInfo = {
      runtime,
      arch: base.name,
      family: arch.family.name,
      batch: settings.batch,
      part,
      stepsPerEpoch: data.steps,
      totalEpochs: settings.totalEpochs,
      startEpoch: trainer.epoch,
      startStep: resume?.within?.step ?? 0,
      inputSize: size,
    };
    return new WebTrainer(trainer, stepRuntime, data, config, settings, info);
  }

  /** Bytes read back from the GPU so far (0 on WASM, where nothing leaves memory). */
  get downloadedBytes(): number {
    return this.runtime.downloadedBytes;
  }

  /** Runs the epochs; resolves when the run ends or is stopped. */
  async run(hooks: WebTrainHooks = {}): Promise<LoopResult> {
    return trainEpochs(this.trainer, this.data, this.info.startStep, {
      config: this.config.tree,
      beforeStep: () => this.paused?.promise ?? Promise.resolve(),
      ...(hooks.onStep ? { onStep: hooks.onStep } : {}),
      ...(hooks.onEpoch ? { onEpoch: hooks.onEpoch } : {}),
      save: async (root, at) => {
        await hooks.onCheckpoint?.(new Blob([...torchArchive(root, 'last.pth')] as BlobPart[]), at);
        return null;
      },
      stop: this.stopFlag,
      kept: () => 'the last checkpoint in browser storage is kept',
    });
  }

  /** Holds the run before its next step, until {@link resume}. */
  pause(): void {
    if (this.paused) return;
    let resume = () => {};
    const promise = new Promise<void>((r) => (resume = r));
    this.paused = { resume, promise };
  }

  /** Lets a run held by {@link pause} take its next step. */
  resume(): void {
    const p = this.paused;
    this.paused = null;
    p?.resume();
  }

  /** Ends the run after the current step, with a checkpoint of where it stopped. */
  stop(): void {
    this.stopFlag.requested = true;
    this.resume();
  }

  /** The logits of a batch of images (B, 3, H, W) from the weights being trained. */
  logits(x: Tensor): Promise<Tensor> {
    return this.trainer.logits(x);
  }

  /** Frees the sessions and the GPU buffers. */
  async release(): Promise<void> {
    this.stop();
    await this.trainer.release();
    await this.data.close();
  }
}
