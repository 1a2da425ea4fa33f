/**
 * Classifying images with a loaded model: each image goes through the official evaluation transform,
 * images are run in batches, and each gets its top-k labels (the checkpoint's class names, or ImageNet's)
 * with softmax probabilities.
 */
import type { FlattenModel } from '../model.js';
import { inputName, type ImageInput, loadImage } from '../preprocess/input.js';
import { evalTransform } from '../preprocess/transform.js';
import type { Tensor } from '../tensor.js';
import { FlattenError } from '../util/errors.js';
import { officialCrop } from './crop.js';
import { type LabelScore, topK } from './topk.js';

/** Options of {@link classifyImages}. */
export interface ClassifyOptions {
  /** How many classes to return per image (default 5). */
  top?: number;
  /** Images per model run (default 8). */
  batch?: number;
  /** Center-crop as the official evaluation does (default: the model's official setting). */
  crop?: boolean;
  /** Apply EXIF orientation first (the official evaluation does not). */
  exifOrientation?: boolean;
  /** Called after each batch with the number of images done so far. */
  onProgress?: (done: number, total: number) => void;
}

/** The result for one image: its top classes, or why it could not be classified. */
export type Classification = { file: string; top: LabelScore[] } | { file: string; error: string };

/** Stacks (1, 3, H, W) tensors into one batch. */
export function stack(items: Tensor[]): Tensor {
  const [, c, h, w] = items[0].shape;
  const size = c * h * w;
  const data = new Float32Array(items.length * size);
  items.forEach((t, i) => data.set(t.data, i * size));
  return { shape: [items.length, c, h, w], data };
}

/** The exact model input for one image, as the official evaluation computes it. */
export function preprocessFor(model: FlattenModel, input: ImageInput, source: string, opts: ClassifyOptions = {}): Tensor {
  const [, h, w] = model.inputShape;
  if (h !== w) throw new FlattenError('input', `classification needs a square input size, this model takes ${h}x${w}`);
  return evalTransform(loadImage(input, source, { exifOrientation: opts.exifOrientation }), {
    source,
    size: h,
    crop: opts.crop ?? officialCrop(model),
  });
}

/**
 * Classifies images. Images that cannot be read are returned with an `error` instead of `top`.
 *
 * @example
 * ```ts
 * const model = await FlattenModel.load('flatten_swin_t', 'flatten_swin_t.pth');
 * const [result] = await classifyImages(model, ['cat.jpg']);
 * if ('top' in result) console.log(result.top[0].label, result.top[0].score);
 * ```
 */
export async function classifyImages(
  model: FlattenModel,
  inputs: readonly ImageInput[],
  opts: ClassifyOptions = {},
): Promise<Classification[]> {
  const batchSize = opts.batch ?? 8;
  const k = opts.top ?? 5;
  const results: Classification[] = new Array(inputs.length);
  let done = 0;
  for (let start = 0; start < inputs.length; start += batchSize) {
    const idx: number[] = [];
    const tensors: Tensor[] = [];
    for (let i = start; i < Math.min(start + batchSize, inputs.length); i++) {
      const file = inputName(inputs[i], i);
      try {
        tensors.push(preprocessFor(model, inputs[i], file, opts));
        idx.push(i);
      } catch (e) {
        if (!(e instanceof FlattenError)) throw e;
        results[i] = { file, error: e.message };
      }
    }
    if (tensors.length > 0) {
      const { logits } = await model.predict(stack(tensors));
      const classes = logits.shape[1];
      idx.forEach((i, j) => {
        results[i] = {
          file: inputName(inputs[i], i),
          top: topK(logits.data.subarray(j * classes, (j + 1) * classes), k, model.classNames),
        };
      });
    }
    done = Math.min(start + batchSize, inputs.length);
    opts.onProgress?.(done, inputs.length);
  }
  return results;
}
