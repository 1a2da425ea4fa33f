/**
 * A byte source over a file, read through one file descriptor (Node): nothing is read that is not
 * asked for, so a 1 GB training checkpoint costs only the bytes of the tensors used.
 */
import { closeSync, readSync } from 'node:fs';
import { openRegularFile } from '../io/regular_file.js';
import { fileError } from '../util/errors.js';
import { type ByteSource, checkRange, MemorySource } from './source.js';

/** A byte source over a file, read on demand. */
export class FileSource implements ByteSource {
  readonly size: number;
  private fd: number | null;

  constructor(readonly name: string) {
    const { fd, size } = openRegularFile(name, 'a checkpoint (.pth or .safetensors)');
    this.fd = fd;
    this.size = size;
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

/** Opens a path, or wraps bytes already in memory. */
export function openSource(input: string | Uint8Array | ArrayBuffer, name?: string): ByteSource {
  return typeof input === 'string' ? new FileSource(input) : new MemorySource(input, name);
}
