/**
 * A reader for the zip container `torch.save` writes (and any ordinary zip): the central directory,
 * ZIP64 sizes and offsets, stored and deflated entries. Every size and offset is checked against the
 * file before memory is reserved, and every entry read is checked against its CRC-32.
 */
import { inflateSync } from 'fflate';
import { crc32 } from '../util/crc32.js';
import { fileError } from '../util/errors.js';
import type { ByteSource } from './source.js';

/** One file inside the archive. */
export interface ZipEntry {
  readonly name: string;
  /** 0 = stored, 8 = deflate. */
  readonly method: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly crc32: number;
  readonly localHeaderOffset: number;
}

const EOCD_SIG = 0x06054b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const ZIP64_EOCD_SIG = 0x06064b50;
const CENTRAL_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;
const MAX_ENTRIES = 1_000_000;

/** The zip magic, `PK\x03\x04`, at the start of a file. */
export function looksLikeZip(head: Uint8Array): boolean {
  return head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04;
}

/** A zip archive opened for random access. */
export class ZipArchive {
  readonly entries: ReadonlyMap<string, ZipEntry>;

  constructor(readonly source: ByteSource) {
    this.entries = readCentralDirectory(source);
  }

  private readonly verified = new Set<string>();

  /** Reads one entry completely, inflating it if needed; `maxSize` caps what a deflated entry may grow to. */
  read(entry: ZipEntry, maxSize = entry.size): Uint8Array {
    const src = this.source;
    if (entry.size > maxSize) {
      throw fileError('format', src.name, `zip entry ${entry.name} declares ${entry.size} bytes, more than the ${maxSize} expected`);
    }
    const raw = src.read(this.dataStart(entry), entry.compressedSize);
    if (entry.method === 0) {
      if (entry.compressedSize !== entry.size) {
        throw fileError('format', src.name, `stored zip entry ${entry.name} has mismatched sizes`);
      }
      this.check(entry, crc32(raw));
      return raw;
    }
    if (entry.method === 8) {
      if (entry.size > entry.compressedSize * 1032 + 64) {
        throw fileError(
          'format',
          src.name,
          `zip entry ${entry.name} declares ${entry.size} bytes from ${entry.compressedSize} compressed, more than deflate can produce`,
        );
      }
      let out: Uint8Array;
      try {
        // One byte more than declared, so that a stream that inflates to more shows it.
        out = inflateSync(raw, { out: new Uint8Array(entry.size + 1) });
      } catch {
        throw fileError('format', src.name, `zip entry ${entry.name} is corrupt (its deflate data does not inflate)`);
      }
      if (out.length !== entry.size) {
        throw fileError(
          'format',
          src.name,
          `zip entry ${entry.name} inflates to ${out.length > entry.size ? 'more than' : out.length} bytes, not the declared ${entry.size}`,
        );
      }
      this.check(entry, crc32(out));
      return out;
    }
    throw fileError(
      'format',
      src.name,
      `zip entry ${entry.name} uses compression method ${entry.method}; only stored and deflate are supported`,
    );
  }

  /**
   * Reads `length` bytes at `offset` of a stored (uncompressed) entry without reading the rest; the
   * whole entry's CRC-32 is verified the first time any part of it is read, in chunks.
   */
  readRange(entry: ZipEntry, offset: number, length: number): Uint8Array {
    const src = this.source;
    if (entry.method !== 0) throw new Error(`internal: readRange needs a stored entry; ${entry.name} is compressed`);
    if (offset < 0 || length < 0 || offset + length > entry.size) {
      throw fileError(
        'format',
        src.name,
        `zip entry ${entry.name} has ${entry.size} bytes; bytes ${offset}..${offset + length} were asked for`,
      );
    }
    if (entry.compressedSize !== entry.size) throw fileError('format', src.name, `stored zip entry ${entry.name} has mismatched sizes`);
    if (offset === 0 && length === entry.size) return this.read(entry);
    const start = this.dataStart(entry);
    if (!this.verified.has(entry.name)) {
      let crc = 0;
      for (let p = 0; p < entry.size; p += CRC_CHUNK) crc = crc32(src.read(start + p, Math.min(CRC_CHUNK, entry.size - p)), crc);
      this.check(entry, crc);
    }
    return src.read(start + offset, length);
  }

  private dataStart(entry: ZipEntry): number {
    const src = this.source;
    const local = src.read(entry.localHeaderOffset, 30);
    const dv = view(local);
    if (dv.getUint32(0, true) !== LOCAL_SIG) {
      throw fileError('format', src.name, `zip entry ${entry.name} has no local header at offset ${entry.localHeaderOffset}`);
    }
    const start = entry.localHeaderOffset + 30 + dv.getUint16(26, true) + dv.getUint16(28, true);
    if (start + entry.compressedSize > src.size) {
      throw fileError('format', src.name, `zip entry ${entry.name} extends beyond the end of the file; the file is truncated`);
    }
    return start;
  }

  private check(entry: ZipEntry, crc: number): void {
    if (crc !== entry.crc32) {
      throw fileError(
        'format',
        this.source.name,
        `zip entry ${entry.name} fails its CRC-32 check (stored ${hex(entry.crc32)}, computed ${hex(crc)}); the file is damaged`,
      );
    }
    this.verified.add(entry.name);
  }
}

/** Bytes read at a time while verifying a stored entry that is read in parts. */
const CRC_CHUNK = 16 << 20;

const hex = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function u64(dv: DataView, off: number, what: string, name: string): number {
  const v = dv.getBigUint64(off, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw fileError('format', name, `zip ${what} is out of range`);
  return Number(v);
}

function readCentralDirectory(src: ByteSource): Map<string, ZipEntry> {
  const notZip = (why: string) =>
    fileError('format', src.name, `not a zip archive (${why}); expected a torch.save checkpoint or a zip file`);
  if (src.size < 22) throw notZip(`only ${src.size} bytes`);
  const tailLen = Math.min(src.size, 22 + 0xffff);
  const tail = src.read(src.size - tailLen, tailLen);
  const tv = view(tail);
  let eocd = -1;
  for (let i = tailLen - 22; i >= 0; i--) {
    if (tv.getUint32(i, true) === EOCD_SIG && i + 22 + tv.getUint16(i + 20, true) === tailLen) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw notZip('no end-of-central-directory record; the file may be truncated');
  let count = tv.getUint16(eocd + 10, true);
  let cdSize = tv.getUint32(eocd + 12, true);
  let cdOffset = tv.getUint32(eocd + 16, true);
  const eocdAbs = src.size - tailLen + eocd;
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    if (eocdAbs < 20) throw notZip('ZIP64 locator missing');
    const loc = view(src.read(eocdAbs - 20, 20));
    if (loc.getUint32(0, true) !== ZIP64_LOCATOR_SIG) throw notZip('ZIP64 locator missing');
    const z64off = u64(loc, 8, 'ZIP64 record offset', src.name);
    const z = view(src.read(z64off, 56));
    if (z.getUint32(0, true) !== ZIP64_EOCD_SIG) throw notZip('ZIP64 end record missing');
    count = u64(z, 32, 'entry count', src.name);
    cdSize = u64(z, 40, 'central directory size', src.name);
    cdOffset = u64(z, 48, 'central directory offset', src.name);
  }
  if (count > MAX_ENTRIES) throw notZip(`${count} entries is more than the ${MAX_ENTRIES} allowed`);
  if (cdOffset + cdSize > src.size) throw notZip('central directory lies beyond the end of the file; the file is truncated');
  const cd = src.read(cdOffset, cdSize);
  const cv = view(cd);
  const entries = new Map<string, ZipEntry>();
  const decoder = new TextDecoder();
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cdSize || cv.getUint32(p, true) !== CENTRAL_SIG) throw notZip(`central directory entry ${i} is damaged`);
    const method = cv.getUint16(p + 10, true);
    const crc32 = cv.getUint32(p + 16, true);
    let compressedSize = cv.getUint32(p + 20, true);
    let size = cv.getUint32(p + 24, true);
    const nameLen = cv.getUint16(p + 28, true);
    const extraLen = cv.getUint16(p + 30, true);
    const commentLen = cv.getUint16(p + 32, true);
    let localHeaderOffset = cv.getUint32(p + 42, true);
    if (p + 46 + nameLen + extraLen + commentLen > cdSize) throw notZip(`central directory entry ${i} is damaged`);
    const name = decoder.decode(cd.subarray(p + 46, p + 46 + nameLen));
    let e = p + 46 + nameLen;
    const extraEnd = e + extraLen;
    while (e + 4 <= extraEnd) {
      const id = cv.getUint16(e, true);
      const len = cv.getUint16(e + 2, true);
      if (e + 4 + len > extraEnd) throw notZip(`the extra field of ${name} runs past its end`);
      if (id === 0x0001) {
        let q = e + 4;
        const take = (): number => {
          if (q + 8 > e + 4 + len) throw notZip(`ZIP64 field of ${name} is damaged`);
          const v = u64(cv, q, 'ZIP64 field', src.name);
          q += 8;
          return v;
        };
        if (size === 0xffffffff) size = take();
        if (compressedSize === 0xffffffff) compressedSize = take();
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = take();
      }
      e += 4 + len;
    }
    if (localHeaderOffset + 30 + compressedSize > src.size) {
      throw fileError('format', src.name, `zip entry ${name} extends beyond the end of the file; the file is truncated`);
    }
    entries.set(name, { name, method, compressedSize, size, crc32, localHeaderOffset });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}
