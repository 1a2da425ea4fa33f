/**
 * The criterion as `main.py` picks it, expressed as the soft targets the training graph's
 * cross-entropy reads: with label smoothing s over K classes, LabelSmoothingCrossEntropy equals the
 * cross-entropy against (1 − s)·one-hot + s/K; with s = 0 it is plain cross-entropy against the
 * one-hot labels. (Mixup and CutMix produce their own soft targets, with the smoothing folded in.)
 */
import { FlattenError } from '../util/errors.js';

/**
 * Soft targets (B, K), row-major, for integer labels.
 *
 * @example
 * ```ts
 * smoothedTargets([3, 0], 10, 0.1); // rows of 0.01 with 0.91 at the label
 * ```
 */
export function smoothedTargets(labels: ArrayLike<number>, K: number, smoothing: number, where = 'labels'): Float32Array {
  const out = new Float32Array(labels.length * K).fill(smoothing / K);
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    if (!Number.isInteger(y) || y < 0 || y >= K) {
      throw new FlattenError('input', `${where}: label ${y} at position ${i} is outside the model's ${K} classes (0 to ${K - 1})`);
    }
    out[i * K + y] += 1 - smoothing;
  }
  return out;
}
