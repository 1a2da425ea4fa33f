/**
 * From logits to labelled predictions: softmax and the k best classes.
 */
import { IMAGENET_LABELS } from './labels.js';

/** One predicted class. */
export interface LabelScore {
  index: number;
  label: string;
  score: number;
}

/** The label of class `i`: the given names, else ImageNet names for 1000-class models, else `class i`. */
export function labelOf(i: number, numClasses: number, names?: readonly string[]): string {
  if (names && names.length === numClasses) return names[i];
  return numClasses === 1000 ? IMAGENET_LABELS[i] : `class ${i}`;
}

/**
 * Softmax probabilities of one row of logits and its `k` best classes, best first.
 *
 * @example
 * ```ts
 * topK(new Float32Array([0.1, 2.5, -1]), 2); // [{ index: 1, ... }, { index: 0, ... }]
 * topK(logits, 1, ['cat', 'dog', 'fox']); // [{ index: 1, label: 'dog', ... }]
 * ```
 */
export function topK(logits: ArrayLike<number>, k: number, names?: readonly string[]): LabelScore[] {
  const n = logits.length;
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, logits[i]);
  let sum = 0;
  const p = new Float64Array(n);
  for (let i = 0; i < n; i++) sum += p[i] = Math.exp(logits[i] - max);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => logits[b] - logits[a] || a - b);
  return order.slice(0, Math.min(k, n)).map((index) => ({ index, label: labelOf(index, n, names), score: p[index] / sum }));
}

/** Indices of the `k` largest logits, best first (ties by lower index, as `torch.topk` on CPU). */
export function topIndices(logits: ArrayLike<number>, k: number): number[] {
  return Array.from({ length: logits.length }, (_, i) => i)
    .sort((a, b) => logits[b] - logits[a] || a - b)
    .slice(0, k);
}
