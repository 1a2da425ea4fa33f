/**
 * Writes `torch.save` checkpoints to files (torch_save.ts makes their bytes). The file is written to a
 * temporary name beside the target and renamed when complete, so an interrupted save never leaves a
 * broken checkpoint and the previous one stays intact until the new one is whole.
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { FlattenError } from '../util/errors.js';
import type { PyValue } from './pickle_writer.js';
import { torchArchive } from './torch_save.js';

/**
 * Saves `root` as `torch.save` would, atomically.
 *
 * @example
 * ```ts
 * saveTorch('last.pth', new Map([['model', new PyOrderedDict([['w', new PyTensor('float32', [2], w)]])]]));
 * ```
 */
export function saveTorch(path: string, root: PyValue): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  let fd: number;
  try {
    fd = openSync(tmp, 'w');
  } catch (e) {
    throw new FlattenError('output', `${path}: cannot write the checkpoint (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    for (const b of torchArchive(root, basename(path))) {
      let done = 0;
      while (done < b.length) done += writeSync(fd, b, done, b.length - done);
    }
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, path);
  } catch (e) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
    rmSync(tmp, { force: true });
    if (e instanceof FlattenError) throw new FlattenError('output', e.message.replace(basename(path), path));
    throw new FlattenError(
      'output',
      `${path}: saving the checkpoint failed (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); the previous file is untouched`,
    );
  }
}
