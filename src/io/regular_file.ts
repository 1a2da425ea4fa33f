/**
 * Reading a file a user named, safely: opened without blocking (a FIFO never hangs the open), only if
 * it is a regular file (a link to `/dev/zero` or a device is refused), and only up to a size limit
 * checked before anything is read.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { fileError, FlattenError } from '../util/errors.js';

/**
 * Opens `path` for reading and returns its descriptor and size; fails with a one-line error unless
 * it is a regular file. `what` names the expected content in messages (`an image`, `a .npy file`).
 *
 * @example
 * ```ts
 * const { fd, size } = openRegularFile('weights.pth', 'a checkpoint');
 * ```
 */
export function openRegularFile(path: string, what: string): { fd: number; size: number } {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw ioError(path, e, what);
  }
  const st = fstatSync(fd);
  if (!st.isFile()) {
    closeSync(fd);
    throw fileError('io', path, `is ${st.isDirectory() ? 'a folder' : 'not a regular file (a device, pipe or socket)'}; expected ${what}`);
  }
  return { fd, size: st.size };
}

/**
 * Reads a whole regular file of at most `maxBytes` bytes (see {@link openRegularFile}).
 *
 * @example
 * ```ts
 * const bytes = readRegularFile('cat.jpg', 512 * 2 ** 20, 'an image');
 * ```
 */
export function readRegularFile(path: string, maxBytes: number, what: string): Uint8Array {
  const { fd, size } = openRegularFile(path, what);
  try {
    if (size > maxBytes) throw fileError('io', path, `is ${size} bytes, more than the ${maxBytes} bytes accepted for ${what}`);
    const out = new Uint8Array(size);
    let done = 0;
    while (done < size) {
      const n = readSync(fd, out, done, size - done, done);
      if (n === 0) throw fileError('io', path, `ended after ${done} of its ${size} bytes while being read`);
      done += n;
    }
    return out;
  } catch (e) {
    if (e instanceof FlattenError) throw e;
    throw ioError(path, e, what);
  } finally {
    closeSync(fd);
  }
}

function ioError(path: string, e: unknown, what: string): FlattenError {
  const code = (e as NodeJS.ErrnoException).code;
  const why =
    code === 'ENOENT'
      ? 'no such file'
      : code === 'EISDIR'
        ? `is a folder; expected ${what}`
        : code === 'EACCES'
          ? 'permission denied'
          : `cannot be read (${code ?? String(e)})`;
  return fileError('io', path, why);
}
