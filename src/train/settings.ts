/**
 * What the training loop reads from the official configuration, resolved once: the learning rates
 * scaled by `BATCH_SIZE / 512` as `main.py` scales them, the schedule in iterations, the optimizer,
 * clipping, criterion and EMA, and the data transforms (`DATA.*`, `AUG.*`).
 */
import { FlattenError } from '../util/errors.js';
import { get, num, type TrainingConfig } from './config.js';
import type { OptimizerSettings } from './optimizer.js';
import type { MixupSettings } from './mixup.js';
import type { ScheduleSettings } from './schedule.js';
import { parseRandAugment } from '../data/rand_augment.js';
import type { TransformSettings } from '../data/transforms.js';

/** `data/build.py`'s Mixup arguments, or null when `AUG.MIXUP` and `AUG.CUTMIX` are 0 and no minmax is set. */
function mixingSettings(cfg: TrainingConfig): MixupSettings | null {
  const minmax = get(cfg, 'AUG.CUTMIX_MINMAX') as number[] | null;
  const mixupAlpha = num(cfg, 'AUG.MIXUP');
  const cutmixAlpha = num(cfg, 'AUG.CUTMIX');
  if (!(mixupAlpha > 0 || cutmixAlpha > 0 || minmax)) return null;
  const mode = String(get(cfg, 'AUG.MIXUP_MODE'));
  if (mode !== 'batch' && mode !== 'pair' && mode !== 'elem')
    throw new FlattenError('config', `AUG.MIXUP_MODE must be batch, pair or elem, found ${mode}`);
  if (minmax && (minmax.length !== 2 || !(minmax[0] < minmax[1])))
    throw new FlattenError('config', `AUG.CUTMIX_MINMAX must be [min, max] with min < max, found ${JSON.stringify(minmax)}`);
  return {
    mixupAlpha,
    cutmixAlpha,
    cutmixMinmax: minmax ? [minmax[0], minmax[1]] : null,
    prob: num(cfg, 'AUG.MIXUP_PROB'),
    switchProb: num(cfg, 'AUG.MIXUP_SWITCH_PROB'),
    mode,
    labelSmoothing: num(cfg, 'MODEL.LABEL_SMOOTHING'),
    numClasses: num(cfg, 'MODEL.NUM_CLASSES'),
  };
}

/** The resolved training settings. */
export interface TrainSettings {
  readonly batch: number;
  /** `EPOCHS + COOLDOWN_EPOCHS`: how many epochs the loop runs. */
  readonly totalEpochs: number;
  readonly optimizer: OptimizerSettings;
  /** Global gradient norm limit, or null (no clipping). */
  readonly clipGrad: number | null;
  readonly labelSmoothing: number;
  /** Mixup/CutMix settings, or null when both are off. */
  readonly mixing: MixupSettings | null;
  /** EMA decay, or null without `--model-ema`. */
  readonly emaDecay: number | null;
  /** The schedule for a given number of steps per epoch. */
  schedule(stepsPerEpoch: number, groups: number): ScheduleSettings;
}

/**
 * Resolves the settings of a configuration.
 *
 * @example
 * ```ts
 * const s = trainSettings(loadConfig('recipe.yaml'), { emaDecay: 0.99 });
 * s.schedule(4, 2).baseLrs; // BASE_LR × BATCH_SIZE / 512, for both groups
 * ```
 */
export function trainSettings(cfg: TrainingConfig, opts: { emaDecay: number | null }): TrainSettings {
  const batch = num(cfg, 'DATA.BATCH_SIZE');
  if (!Number.isInteger(batch) || batch < 1) throw new FlattenError('config', `DATA.BATCH_SIZE must be a positive integer, found ${batch}`);
  const scale = batch / 512;
  const name = String(get(cfg, 'TRAIN.OPTIMIZER.NAME')).toLowerCase();
  if (name !== 'adamw' && name !== 'sgd')
    throw new FlattenError('config', `TRAIN.OPTIMIZER.NAME must be adamw or sgd (as optimizer.py), found ${name}`);
  const sched = String(get(cfg, 'TRAIN.LR_SCHEDULER.NAME'));
  if (sched !== 'cosine' && sched !== 'linear' && sched !== 'step') {
    throw new FlattenError('config', `TRAIN.LR_SCHEDULER.NAME must be cosine, linear or step (as lr_scheduler.py), found ${sched}`);
  }
  const betas = get(cfg, 'TRAIN.OPTIMIZER.BETAS') as number[];
  const clip = get(cfg, 'TRAIN.CLIP_GRAD') as number | null;
  const epochs = num(cfg, 'TRAIN.EPOCHS');
  const [baseLr, warmupLr, minLr] = ['BASE_LR', 'WARMUP_LR', 'MIN_LR'].map((k) => num(cfg, `TRAIN.${k}`) * scale);
  return {
    batch,
    totalEpochs: epochs + num(cfg, 'TRAIN.COOLDOWN_EPOCHS'),
    optimizer: {
      name,
      weightDecay: num(cfg, 'TRAIN.WEIGHT_DECAY'),
      eps: num(cfg, 'TRAIN.OPTIMIZER.EPS'),
      betas: [betas[0], betas[1]],
      momentum: num(cfg, 'TRAIN.OPTIMIZER.MOMENTUM'),
    },
    clipGrad: clip ? clip : null,
    labelSmoothing: num(cfg, 'MODEL.LABEL_SMOOTHING'),
    mixing: mixingSettings(cfg),
    emaDecay: opts.emaDecay,
    schedule: (steps, groups) => ({
      name: sched,
      baseLrs: new Array<number>(groups).fill(baseLr),
      warmupLr,
      minLr,
      tInitial: Math.floor(epochs * steps),
      warmupT: Math.floor(num(cfg, 'TRAIN.WARMUP_EPOCHS') * steps),
      decayT: Math.floor(num(cfg, 'TRAIN.LR_SCHEDULER.DECAY_EPOCHS') * steps),
      decayRate: num(cfg, 'TRAIN.LR_SCHEDULER.DECAY_RATE'),
    }),
  };
}

/**
 * The transform settings of `data/build.py`: `DATA.IMG_SIZE`, `DATA.INTERPOLATION`, `AUG.*`, `TEST.CROP`.
 *
 * @example
 * ```ts
 * const t = transformSettings(loadConfig('cfgs/flatten_pvt_v2_b0.yaml')); // RandAugment rand-m9-mstd0.5-inc1, …
 * ```
 */
export function transformSettings(cfg: TrainingConfig): TransformSettings {
  const interpolation = String(get(cfg, 'DATA.INTERPOLATION'));
  if (interpolation !== 'bicubic' && interpolation !== 'bilinear' && interpolation !== 'random') {
    throw new FlattenError('config', `DATA.INTERPOLATION '${interpolation}': training supports bicubic, bilinear or random`);
  }
  const mode = String(get(cfg, 'AUG.REMODE'));
  if (num(cfg, 'AUG.REPROB') > 0 && mode !== 'pixel') {
    throw new FlattenError('config', `AUG.REMODE '${mode}': only 'pixel' random erasing (the official setting) is supported`);
  }
  const aa = String(get(cfg, 'AUG.AUTO_AUGMENT'));
  return {
    size: num(cfg, 'DATA.IMG_SIZE'),
    hflip: 0.5,
    interpolation,
    randAugment: aa === 'none' || aa === '' ? null : parseRandAugment(aa),
    colorJitter: num(cfg, 'AUG.COLOR_JITTER'),
    reProb: num(cfg, 'AUG.REPROB'),
    reCount: num(cfg, 'AUG.RECOUNT'),
    testCrop: Boolean(get(cfg, 'TEST.CROP')),
  };
}
