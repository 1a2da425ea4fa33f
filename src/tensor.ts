/**
 * The small tensor type used at the library's edges: checkpoints, `.npy` files and model outputs.
 * Data is always row-major and contiguous.
 */

/** Element types the checkpoint readers understand. */
export type DType = 'float32' | 'float16' | 'bfloat16' | 'float64' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

/** Bytes per element of each {@link DType}. */
export const DTYPE_BYTES: Readonly<Record<DType, number>> = {
  float32: 4,
  float16: 2,
  bfloat16: 2,
  float64: 8,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
};

/** A dense float32 tensor. Every weight and activation flatten-vit computes with has this form. */
export interface Tensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** A dense float64 tensor, for the float64 linear algebra of the analyses. */
export interface Tensor64 {
  readonly shape: readonly number[];
  readonly data: Float64Array;
}

/** Number of elements of a shape (1 for a scalar). */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Formats a shape the way PyTorch prints it: `(64, 3, 4, 4)`. */
export function formatShape(shape: readonly number[]): string {
  return `(${shape.join(', ')})`;
}

/** Creates a tensor, checking that the data length matches the shape. */
export function tensor(shape: readonly number[], data: Float32Array): Tensor {
  if (data.length !== numel(shape)) {
    throw new RangeError(`tensor data has ${data.length} elements, shape ${formatShape(shape)} needs ${numel(shape)}`);
  }
  return { shape: [...shape], data };
}
