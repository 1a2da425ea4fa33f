/**
 * Validation after an epoch, as `validate` in `main_ema.py` computes it: cross-entropy without
 * smoothing, and top-1 / top-5 accuracy in percent, each averaged over the images. The logits come
 * from whatever runs the model: the trainer's own forward graph on the weights it holds, in Node or
 * in the browser.
 */
import type { Tensor } from '../tensor.js';
import { FlattenError } from '../util/errors.js';
import type { LabeledBatch } from '../data/sample_loader.js';

/** One validation pass. */
export interface Validation {
  readonly acc1: number;
  readonly acc5: number;
  readonly loss: number;
  readonly images: number;
  /** Per-class counts: `confusion[label][predicted]`. */
  readonly confusion: readonly (readonly number[])[];
}

/**
 * Evaluates a model, given as its forward pass, on the validation batches.
 *
 * @example
 * ```ts
 * const v = await validate((x) => trainer.logits(x), data.validation()!);
 * console.log(v.acc1, v.acc5, v.loss);
 * ```
 */
export async function validate(predict: (x: Tensor) => Promise<Tensor>, batches: AsyncIterable<LabeledBatch>): Promise<Validation> {
  let images = 0;
  let top1 = 0;
  let top5 = 0;
  let loss = 0;
  let confusion: number[][] = [];
  for await (const { x, labels, source } of batches) {
    const logits = await predict(x);
    const K = logits.shape[1];
    if (confusion.length === 0) confusion = Array.from({ length: K }, () => new Array<number>(K).fill(0));
    for (let i = 0; i < labels.length; i++) {
      const row = logits.data.subarray(i * K, (i + 1) * K);
      const y = labels[i];
      if (!Number.isInteger(y) || y < 0 || y >= K)
        throw new FlattenError('input', `${source}: label ${y} at position ${i} is outside the model's ${K} classes`);
      let max = -Infinity;
      let best = 0;
      row.forEach((v, k) => {
        if (v > max) [max, best] = [v, k];
      });
      let sum = 0;
      for (const v of row) sum += Math.exp(v - max);
      loss += Math.log(sum) + max - row[y];
      const rank = row.reduce((n, v, k) => n + (v > row[y] || (v === row[y] && k < y) ? 1 : 0), 0);
      if (rank < 1) top1++;
      if (rank < 5) top5++;
      confusion[y][best]++;
    }
    images += labels.length;
  }
  if (images === 0) throw new FlattenError('input', 'the validation set yielded no images');
  return { acc1: (100 * top1) / images, acc5: (100 * top5) / images, loss: loss / images, images, confusion };
}
