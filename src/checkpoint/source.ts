/**
 * Random-access byte sources. This module holds the interface and the in-memory source (a Buffer, a
 * Uint8Array or an ArrayBuffer, as in the browser); `file_source.ts` reads files on demand in Node.
 */
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

  /** `name` is what messages call the source (a file name). */
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

/** Fails unless [offset, offset + length) lies inside the source. */
export function checkRange(src: ByteSource, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw fileError('format', src.name, `invalid read of ${length} bytes at offset ${offset}`);
  }
  if (offset + length > src.size) {
    throw fileError('format', src.name, `truncated: needs bytes ${offset}..${offset + length} but the file has ${src.size}`);
  }
}
