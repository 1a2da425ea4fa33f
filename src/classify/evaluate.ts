/**
 * ImageNet-style evaluation of a model on an ImageFolder, as the official `main.py --eval` computes
 * it: the official transform on every image, top-1 and top-5 accuracy in percent.
 */
import type { FlattenModel } from '../model.js';
import type { Tensor } from '../tensor.js';
import { FlattenError } from '../util/errors.js';
import { preprocessFor, stack } from './classify.js';
import { listImageFolder, spread } from './dataset.js';
import { topIndices } from './topk.js';

/** Options of {@link evaluateFolder}. */
export interface EvaluateOptions {
  /** Evaluate only this many images, spread evenly over the dataset. */
  limit?: number;
  /** Images per model run (default 16). */
  batch?: number;
  /** Called after each batch. */
  onProgress?: (done: number, total: number, evaluated: number) => void;
  /** Called for each image that cannot be read; the image is skipped. */
  onSkip?: (path: string, reason: string) => void;
}

/** The outcome of an evaluation. */
export interface EvaluationSummary {
  /** Images evaluated (skipped ones excluded). */
  images: number;
  skipped: number;
  classes: number;
  /** Accuracy in percent. */
  top1: number;
  top5: number;
  seconds: number;
  imagesPerSecond: number;
}

/**
 * Evaluates a model on an ImageFolder (class subfolders sorted by name give the class indices).
 *
 * @example
 * ```ts
 * const s = await evaluateFolder(model, 'imagenet/val', { limit: 1000 });
 * console.log(`top-1 ${s.top1.toFixed(2)}%`);
 * ```
 */
export async function evaluateFolder(model: FlattenModel, dir: string, opts: EvaluateOptions = {}): Promise<EvaluationSummary> {
  const { classes, samples: all } = listImageFolder(dir);
  const samples = spread(all, opts.limit);
  const batchSize = opts.batch ?? 16;
  const t0 = performance.now();
  let correct1 = 0;
  let correct5 = 0;
  let evaluated = 0;
  let skipped = 0;
  let pending: Promise<void> = Promise.resolve();
  for (let start = 0; start < samples.length; start += batchSize) {
    const batch = samples.slice(start, start + batchSize);
    const tensors: Tensor[] = [];
    const targets: number[] = [];
    for (const s of batch) {
      try {
        tensors.push(preprocessFor(model, s.path, s.path));
        targets.push(s.target);
      } catch (e) {
        if (!(e instanceof FlattenError)) throw e;
        skipped++;
        opts.onSkip?.(s.path, e.message);
      }
    }
    await pending;
    const done = Math.min(start + batchSize, samples.length);
    if (tensors.length === 0) {
      opts.onProgress?.(done, samples.length, evaluated);
      continue;
    }
    pending = model.predict(stack(tensors)).then(({ logits }) => {
      const n = logits.shape[1];
      if (n <= Math.max(...targets)) {
        throw new FlattenError('input', `${dir}: has ${classes.length} classes but the model predicts only ${n}`);
      }
      targets.forEach((t, j) => {
        const top = topIndices(logits.data.subarray(j * n, (j + 1) * n), 5);
        if (top[0] === t) correct1++;
        if (top.includes(t)) correct5++;
      });
      evaluated += targets.length;
      opts.onProgress?.(done, samples.length, evaluated);
    });
  }
  await pending;
  if (evaluated === 0) {
    throw new FlattenError(
      'input',
      `${dir}: no readable image among its ${samples.length} file(s)${skipped ? ` (${skipped} could not be read)` : ''}; an accuracy over no images is not a result`,
    );
  }
  const seconds = (performance.now() - t0) / 1000;
  return {
    images: evaluated,
    skipped,
    classes: classes.length,
    top1: evaluated ? (100 * correct1) / evaluated : 0,
    top5: evaluated ? (100 * correct5) / evaluated : 0,
    seconds,
    imagesPerSecond: evaluated / seconds,
  };
}
