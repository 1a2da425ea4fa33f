/**
 * One entry point for every checkpoint format, in Node and in the browser: looks at the first bytes,
 * not the file name, and hands the source to the torch or safetensors reader.
 */
import { fileError } from '../util/errors.js';
import type { StateDict } from './lazy.js';
import { looksLikeSafetensors, readSafetensors } from './safetensors.js';
import type { ByteSource } from './source.js';
import { readTorchCheckpoint, type TorchReadOptions } from './torch.js';
import { looksLikeZip } from './zip.js';

/**
 * Reads a checkpoint (`.pth` zip from `torch.save`, or `.safetensors`) from a byte source and resolves
 * its state dict. The source is closed if reading fails.
 *
 * @example
 * ```ts
 * const sd = readCheckpoint(new MemorySource(bytes, 'weights.pth'));
 * ```
 */
export function readCheckpoint(src: ByteSource, opts: TorchReadOptions = {}): StateDict {
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
