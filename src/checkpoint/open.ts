/**
 * One entry point for every checkpoint format: looks at the first bytes, not the file name, and
 * hands the file to the torch or safetensors reader.
 */
import { fileError } from '../util/errors.js';
import type { StateDict } from './lazy.js';
import { looksLikeSafetensors, readSafetensors } from './safetensors.js';
import { openSource } from './source.js';
import { readTorchCheckpoint, type TorchReadOptions } from './torch.js';
import { looksLikeZip } from './zip.js';

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
  const src = openSource(input, opts.name);
  try {
    const head = src.read(0, Math.min(src.size, 16));
    if (looksLikeZip(head)) return readTorchCheckpoint(src, opts);
    if (looksLikeSafetensors(head)) {
      if (opts.ema) throw fileError('checkpoint', src.name, 'is a safetensors file, which has no EMA entry; drop --ema');
      return readSafetensors(src);
    }
    if (head[0] === 0x80) return readTorchCheckpoint(src, opts);
    throw fileError(
      'format',
      src.name,
      src.size === 0
        ? 'is empty; expected a .pth (torch.save zip) or .safetensors checkpoint'
        : 'is not a checkpoint: expected a .pth (torch.save zip) or .safetensors file',
    );
  } catch (e) {
    src.close();
    throw e;
  }
}
