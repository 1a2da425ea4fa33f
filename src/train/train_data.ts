/**
 * What a training run reads its batches from: steps per epoch, the batches of an epoch from a given
 * step, the validation batches, and the class names to store in checkpoints. `samplesData` makes one
 * from labelled samples and a loader, in Node (files on worker threads, data.ts) and in the browser
 * (images held in memory).
 */
import type { Sample } from '../data/sample.js';
import type { LabeledBatch, SampleLoader } from '../data/sample_loader.js';
import type { TransformSettings } from '../data/transforms.js';
import { FlattenError } from '../util/errors.js';

/** A run's data. */
export interface TrainData {
  /** Steps in one epoch. */
  readonly steps: number;
  /** Class names by index (ImageFolder runs), stored in checkpoints so that `classify` prints them. */
  readonly classes?: readonly string[];
  /** Images skipped so far because they could not be read. */
  readonly skipped: number;
  /** Checks the data against the model before the first step; throws a one-line error. */
  check(input: readonly number[], numClasses: number, batch: number): void;
  /** The batches of epoch `epoch` (0-based) from step `from` on. */
  epoch(epoch: number, from: number): AsyncIterable<LabeledBatch>;
  /** The validation batches, or null without a validation set. */
  validation(): AsyncIterable<LabeledBatch> | null;
  /** Releases workers. */
  close(): Promise<void>;
}

/** Options of {@link samplesData}. */
export interface SamplesDataOptions {
  readonly train: readonly Sample[];
  readonly val: readonly Sample[] | null;
  readonly classes: readonly string[];
  readonly settings: TransformSettings;
  readonly seed: number;
  /** Validation batch size (default DATA.BATCH_SIZE). */
  readonly valBatch?: number;
  readonly loader: SampleLoader;
}

/**
 * A dataset of labelled samples, loaded and augmented by `loader`.
 *
 * @example
 * ```ts
 * const data = samplesData({ train, val, classes, settings, seed: 0, loader });
 * ```
 */
export function samplesData(o: SamplesDataOptions): TrainData {
  const loader = o.loader;
  let batch = 0;
  return {
    get steps() {
      return batch ? Math.floor(o.train.length / batch) : 0;
    },
    classes: o.classes,
    get skipped() {
      return loader.skippedCount;
    },
    check(input, numClasses, b) {
      const size = o.settings.size;
      if (input[1] !== size || input[2] !== size) {
        throw new FlattenError('config', `DATA.IMG_SIZE ${size} differs from the model's input ${input[1]}×${input[2]}; set them equal`);
      }
      if (numClasses !== o.classes.length) {
        throw new FlattenError(
          'config',
          `the data has ${o.classes.length} classes but the model ${numClasses}; MODEL.NUM_CLASSES must follow train/`,
        );
      }
      if (o.train.length < b) {
        throw new FlattenError(
          'input',
          `train/ holds ${o.train.length} images, fewer than one batch of ${b} (DATA.BATCH_SIZE); lower it with --opts DATA.BATCH_SIZE N`,
        );
      }
      batch = b;
    },
    epoch: (epoch, from) => loader.trainEpoch(o.train, { batch, seed: o.seed, epoch, startStep: from }),
    validation: () => (o.val ? loader.valEpoch(o.val, o.valBatch ?? batch) : null),
    close: () => loader.close(),
  };
}
