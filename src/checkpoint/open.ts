/**
 * Opening a checkpoint by path or from bytes (Node): the file is read on demand through a handle.
 */
import { openSource } from './file_source.js';
import type { StateDict } from './lazy.js';
import { readCheckpoint } from './read.js';
import type { TorchReadOptions } from './torch.js';

/** Where a checkpoint comes from: a path, or its bytes. */
export type CheckpointInput = string | Uint8Array | ArrayBuffer;

/**
 * Opens a checkpoint (`.pth` zip from `torch.save`, or `.safetensors`) and resolves its state dict.
 *
 * @example
 * ```ts
 * const sd = openCheckpoint('checkpoint.pth', { ema: false });
 * for (const [name, t] of sd.tensors) console.log(name, t.shape);
 * sd.close();
 * ```
 */
export function openCheckpoint(input: CheckpointInput, opts: TorchReadOptions & { name?: string } = {}): StateDict {
  return readCheckpoint(openSource(input, opts.name), opts);
}
