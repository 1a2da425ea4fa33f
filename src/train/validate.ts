/**
 * Validation after an epoch, as `validate` in `main_ema.py` computes it: the inference model built from
 * the current weights (or the EMA's), cross-entropy without smoothing, and top-1 / top-5 accuracy in
 * percent, each averaged over the images.
 */
import { FlattenModel } from '../model.js';
import type { Architecture, ArchitectureSpec } from '../models/registry.js';
import { FlattenError } from '../util/errors.js';
import type { LabeledBatch } from '../data/sample_loader.js';

/** One validation pass. */
export interface Validation {
  readonly acc1: number;
  readonly acc5: number;
  readonly loss: number;
  readonly images: number;
}

/**
 * Evaluates `weights` on the validation batches.
 *
 * @example
 * ```ts
 * const v = await validate(arch, trainer.params, data.validation()!, 2);
 * console.log(v.acc1, v.acc5, v.loss);
 * ```
 */
export async function validate(
  arch: Architecture,
  weights: ReadonlyMap<string, Float32Array>,
  batches: AsyncIterable<LabeledBatch>,
  threads?: number,
): Promise<Validation> {
  const spec: ArchitectureSpec = { family: arch.family.name, args: { ...arch.args } };
  const model = await FlattenModel.fromWeights(spec, weights, threads ? { threads } : {});
  let images = 0;
  let top1 = 0;
  let top5 = 0;
  let loss = 0;
  try {
    for await (const { x, labels, source } of batches) {
      const { logits } = await model.predict(x);
      const K = logits.shape[1];
      for (let i = 0; i < labels.length; i++) {
        const row = logits.data.subarray(i * K, (i + 1) * K);
        const y = labels[i];
        if (!Number.isInteger(y) || y < 0 || y >= K)
          throw new FlattenError('input', `${source}: label ${y} at position ${i} is outside the model's ${K} classes`);
        let max = -Infinity;
        for (const v of row) max = Math.max(max, v);
        let sum = 0;
        for (const v of row) sum += Math.exp(v - max);
        loss += Math.log(sum) + max - row[y];
        const rank = row.reduce((n, v, k) => n + (v > row[y] || (v === row[y] && k < y) ? 1 : 0), 0);
        if (rank < 1) top1++;
        if (rank < 5) top5++;
      }
      images += labels.length;
    }
  } finally {
    await model.dispose();
  }
  if (images === 0) throw new FlattenError('input', 'the validation set yielded no images');
  return { acc1: (100 * top1) / images, acc5: (100 * top5) / images, loss: loss / images, images };
}
