/**
 * Where a training run's batches come from in Node: a folder of ready batches (`--batches`, the
 * step-for-step checks against the official code) or an ImageFolder dataset (`--data`, decoded and
 * augmented as the official loader does, on worker threads). Both are a `TrainData` (train_data.ts).
 */
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { IMG_EXTENSIONS, type ImageFolder, listImageFolder, type Sample } from '../classify/dataset.js';
import { fileSampleLoader } from '../data/worker_pool.js';
import { type BatchFiles, checkBatches, checkValidationBatches, readBatch, readLabeledBatch } from './batches.js';
import { FlattenError } from '../util/errors.js';
import { samplesData, type SamplesDataOptions, type TrainData } from './train_data.js';

export type { TrainData } from './train_data.js';

/**
 * Ready batches: `batchI_x.npy` / `batchI_y.npy`, one epoch is all of them in order.
 *
 * @example
 * ```ts
 * const data = batchFolderData(listBatches('steps'), listBatches('val'));
 * ```
 */
export function batchFolderData(batches: readonly BatchFiles[], val?: readonly BatchFiles[]): TrainData {
  let size = { batch: 0, input: [] as readonly number[] };
  return {
    steps: batches.length,
    skipped: 0,
    check(input, numClasses, batch) {
      checkBatches(batches, batch, input, numClasses);
      if (val) checkValidationBatches(val, input, numClasses);
      size = { batch, input };
    },
    async *epoch(_epoch, from) {
      for (let i = from; i < batches.length; i++) {
        const { x, labels } = readBatch(batches[i], size.batch, size.input);
        yield { x, labels, source: basename(batches[i].x) };
      }
    },
    validation() {
      if (!val) return null;
      return (async function* () {
        for (const b of val) yield { ...readLabeledBatch(b, size.input), source: b.y };
      })();
    },
    close: async () => undefined,
  };
}

/** Options of {@link imageFolderData}. */
export interface ImageFolderDataOptions extends Omit<SamplesDataOptions, 'loader'> {
  /** Data worker threads (0: load on the main thread). */
  readonly workers?: number;
  /** Called with a one-line reason for each image that cannot be read (it is left out). */
  readonly onSkip?: (reason: string) => void;
}

/**
 * An ImageFolder dataset, loaded and augmented on worker threads.
 *
 * @example
 * ```ts
 * const { classes, samples } = listImageFolder('flowers/train');
 * const data = imageFolderData({ train: samples, val: null, classes, settings, seed: 0 });
 * ```
 */
export function imageFolderData(o: ImageFolderDataOptions): TrainData {
  const loader = fileSampleLoader({
    settings: o.settings,
    ...(o.workers !== undefined ? { workers: o.workers } : {}),
    ...(o.onSkip ? { onSkip: o.onSkip } : {}),
  });
  return samplesData({ ...o, loader });
}

/** The two halves of a `--data` folder. */
export interface ImageFolderSplit {
  readonly classes: readonly string[];
  readonly train: readonly Sample[];
  /** Validation samples labelled by the train/ class of the same name; null without `val/`. */
  readonly val: readonly Sample[] | null;
}

/**
 * Lists `<root>/train` and, if present, `<root>/val`: class indices from train/'s sorted folder names,
 * every class folder holding at least one image, and val/'s classes all present in train/.
 *
 * @example
 * ```ts
 * const { classes, train, val } = listDataFolder('flowers'); // flowers/train/<class>/*.jpg, flowers/val/<class>/*.jpg
 * ```
 */
export function listDataFolder(root: string): ImageFolderSplit {
  const trainDir = join(root, 'train');
  if (!existsSync(trainDir)) {
    throw new FlattenError(
      'input',
      `${root}: has no train/ folder; expected ${root}/train/<class>/<image> (and optionally ${root}/val/<class>/<image>)`,
    );
  }
  const train = listImageFolder(trainDir);
  checkNoEmptyClass(trainDir, train);
  const valDir = join(root, 'val');
  if (!existsSync(valDir)) return { classes: train.classes, train: train.samples, val: null };
  const val = listImageFolder(valDir);
  const missing = val.classes.filter((c) => !train.classes.includes(c));
  if (missing.length) {
    throw new FlattenError(
      'input',
      `${valDir}: class folder(s) ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''} have no counterpart in ${trainDir}; validation classes must be training classes`,
    );
  }
  const index = new Map(train.classes.map((c, i) => [c, i]));
  return {
    classes: train.classes,
    train: train.samples,
    val: val.samples.map((s) => ({ path: s.path, target: index.get(val.classes[s.target])! })),
  };
}

function checkNoEmptyClass(dir: string, folder: ImageFolder): void {
  const counts = new Array<number>(folder.classes.length).fill(0);
  for (const s of folder.samples) counts[s.target]++;
  const empty = folder.classes.filter((_, i) => counts[i] === 0);
  if (empty.length) {
    throw new FlattenError(
      'input',
      `${join(dir, empty[0])}: class folder holds no images (${IMG_EXTENSIONS.join(' ')})${empty.length > 1 ? `, nor do ${empty.length - 1} other(s)` : ''}; remove it or add images`,
    );
  }
}
