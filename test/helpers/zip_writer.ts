/**
 * Test helper: writes zip archives the way PyTorch's writer does (stored entries), with options for
 * deflate, ZIP64 records and deliberate damage.
 */
import { deflateRawSync } from 'node:zlib';
import { concatBytes } from '../../src/util/bytes.js';
import { crc32 } from '../../src/util/crc32.js';

export interface ZipOptions {
  deflate?: boolean;
  /** Write ZIP64 sizes, offsets and end records even though nothing needs them. */
  zip64?: boolean;
}

export function writeZip(files: { name: string; data: Uint8Array }[], opts: ZipOptions = {}): Uint8Array {
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  const enc = new TextEncoder();
  for (const f of files) {
    const name = enc.encode(f.name);
    const body = opts.deflate ? new Uint8Array(deflateRawSync(f.data)) : f.data;
    const method = opts.deflate ? 8 : 0;
    const crc = crc32(f.data);
    const local = new DataView(new ArrayBuffer(30));
    local.setUint32(0, 0x04034b50, true);
    local.setUint16(4, 20, true);
    local.setUint16(8, method, true);
    local.setUint32(14, crc, true);
    local.setUint32(18, body.length, true);
    local.setUint32(22, f.data.length, true);
    local.setUint16(26, name.length, true);
    parts.push(new Uint8Array(local.buffer), name, body);
    const extra = opts.zip64 ? new DataView(new ArrayBuffer(28)) : null;
    if (extra) {
      extra.setUint16(0, 0x0001, true);
      extra.setUint16(2, 24, true);
      extra.setBigUint64(4, BigInt(f.data.length), true);
      extra.setBigUint64(12, BigInt(body.length), true);
      extra.setBigUint64(20, BigInt(offset), true);
    }
    const c = new DataView(new ArrayBuffer(46));
    c.setUint32(0, 0x02014b50, true);
    c.setUint16(4, 45, true);
    c.setUint16(6, 45, true);
    c.setUint16(10, method, true);
    c.setUint32(16, crc, true);
    c.setUint32(20, extra ? 0xffffffff : body.length, true);
    c.setUint32(24, extra ? 0xffffffff : f.data.length, true);
    c.setUint16(28, name.length, true);
    c.setUint16(30, extra ? 28 : 0, true);
    c.setUint32(42, extra ? 0xffffffff : offset, true);
    central.push(new Uint8Array(c.buffer), name, ...(extra ? [new Uint8Array(extra.buffer)] : []));
    offset += 30 + name.length + body.length;
  }
  const cdSize = central.reduce((n, p) => n + p.length, 0);
  const tail: Uint8Array[] = [];
  if (opts.zip64) {
    const z = new DataView(new ArrayBuffer(56));
    z.setUint32(0, 0x06064b50, true);
    z.setBigUint64(4, 44n, true);
    z.setBigUint64(24, BigInt(files.length), true);
    z.setBigUint64(32, BigInt(files.length), true);
    z.setBigUint64(40, BigInt(cdSize), true);
    z.setBigUint64(48, BigInt(offset), true);
    const loc = new DataView(new ArrayBuffer(20));
    loc.setUint32(0, 0x07064b50, true);
    loc.setBigUint64(8, BigInt(offset + cdSize), true);
    loc.setUint32(16, 1, true);
    tail.push(new Uint8Array(z.buffer), new Uint8Array(loc.buffer));
  }
  const e = new DataView(new ArrayBuffer(22));
  e.setUint32(0, 0x06054b50, true);
  e.setUint16(8, opts.zip64 ? 0xffff : files.length, true);
  e.setUint16(10, opts.zip64 ? 0xffff : files.length, true);
  e.setUint32(12, opts.zip64 ? 0xffffffff : cdSize, true);
  e.setUint32(16, opts.zip64 ? 0xffffffff : offset, true);
  tail.push(new Uint8Array(e.buffer));
  return concatBytes([...parts, ...central, ...tail]);
}
