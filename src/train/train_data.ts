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
  /** What the two sets are called in messages (their folders); `the training images` and `the validation images` by default. */
  readonly names?: { readonly train: string; readonly val: string };
}

/** The batches of `it`, failing with `none()` at the end if there were none. */
async function* atLeastOne<T>(it: AsyncIterable<T>, none: () => FlattenError): AsyncGenerator<T> {
  let n = 0;
  for await (const x of it) {
    n++;
    yield x;
  }
  if (n === 0) throw none();
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
  const names = o.names ?? { train: 'the training images', val: 'the validation images' };
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
    // after skipping what could not be read, an epoch with no batch or a validation set with no image is no result
    epoch: (epoch, from) => {
      const batches = loader.trainEpoch(o.train, { batch, seed: o.seed, epoch, startStep: from });
      if (from > 0) return batches;
      return atLeastOne(
        batches,
        () =>
          new FlattenError(
            'input',
            `${names.train}: fewer than one batch of ${batch} readable images (${loader.skippedCount} of all images could not be read); nothing to train on`,
          ),
      );
    },
    validation: () =>
      o.val
        ? atLeastOne(
            loader.valEpoch(o.val, o.valBatch ?? batch),
            () =>
              new FlattenError(
                'input',
                `${names.val}: no readable image among its ${o.val!.length}; a validation accuracy over no images is not a result`,
              ),
          )
        : null,
    close: () => loader.close(),
  };
}
