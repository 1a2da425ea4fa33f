/**
 * Random-access byte sources: a file read through a handle (nothing is read that is not asked for,
 * so a 1 GB training checkpoint costs only the bytes of the tensors used) or bytes already in memory
 * (a Buffer, a Uint8Array or an ArrayBuffer, as in the browser).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { fileError } from '../util/errors.js';

/** Something bytes can be read from at any offset. */
export interface ByteSource {
  /** Name used in error messages (the file path, or `<buffer>`). */
  readonly name: string;
  /** Total size in bytes. */
  readonly size: number;
  /** Reads exactly `length` bytes at `offset`; fails if they are not all there. */
  read(offset: number, length: number): Uint8Array;
  /** Releases the file handle, if any. */
  close(): void;
}

/** A byte source over memory. Reads return views, never copies. */
export class MemorySource implements ByteSource {
  readonly size: number;
  private readonly bytes: Uint8Array;

  constructor(
    bytes: Uint8Array | ArrayBuffer,
    readonly name = '<buffer>',
  ) {
    this.bytes = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
    this.size = this.bytes.length;
  }

  read(offset: number, length: number): Uint8Array {
    checkRange(this, offset, length);
    return this.bytes.subarray(offset, offset + length);
  }

  close(): void {}
}

/** A byte source over a file, read on demand through one file descriptor. */
export class FileSource implements ByteSource {
  readonly size: number;
  private fd: number | null;

  constructor(readonly name: string) {
    try {
      this.fd = openSync(name, 'r');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory, not a file' : String(code);
      throw fileError('io', name, `cannot open (${why})`);
    }
    const st = fstatSync(this.fd);
    if (!st.isFile()) {
      this.close();
      throw fileError('io', name, 'is not a regular file');
    }
    this.size = st.size;
  }

  read(offset: number, length: number): Uint8Array {
    checkRange(this, offset, length);
    if (this.fd === null) throw fileError('io', this.name, 'read after close');
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const n = readSync(this.fd, out, done, length - done, offset + done);
      if (n === 0) throw fileError('io', this.name, `file ended after ${offset + done} bytes while reading`);
      done += n;
    }
    return out;
  }

  close(): void {
    if (this.fd !== null) {
      closeSync(this.fd);
      this.fd = null;
    }
  }
}

function checkRange(src: ByteSource, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw fileError('format', src.name, `invalid read of ${length} bytes at offset ${offset}`);
  }
  if (offset + length > src.size) {
    throw fileError('format', src.name, `truncated: needs bytes ${offset}..${offset + length} but the file has ${src.size}`);
  }
}

/** Opens a path, or wraps bytes already in memory. */
export function openSource(input: string | Uint8Array | ArrayBuffer, name?: string): ByteSource {
  return typeof input === 'string' ? new FileSource(input) : new MemorySource(input, name);
}
