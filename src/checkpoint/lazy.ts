/**
 * The common form of every checkpoint reader's result: named tensors whose shapes are known at once
 * and whose data is read from the file only when asked for.
 */
import type { DType } from '../tensor.js';

/** A tensor in a checkpoint, not yet read. */
export interface LazyTensor {
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** Reads the data from the file and widens it to float32. */
  read(): Float32Array;
}

/** A state dict read from a checkpoint file. */
export interface StateDict {
  /** The file or buffer it came from, for messages. */
  readonly source: string;
  /** `torch` (a `torch.save` zip) or `safetensors`. */
  readonly format: 'torch' | 'safetensors';
  /** Which entry of the checkpoint was used: `model`, `state_dict_ema`, `state_dict`, or `(root)`. */
  readonly entry: string;
  readonly tensors: ReadonlyMap<string, LazyTensor>;
  /** Other top-level entries of the checkpoint, e.g. `optimizer`, `epoch` (never read further). */
  readonly otherEntries: readonly string[];
  /** Class names in class-index order, from the `classes` entry flatten-vit writes when it trains on an ImageFolder. */
  readonly classNames?: readonly string[];
  /** Closes the file. Tensors cannot be read afterwards. */
  close(): void;
}
