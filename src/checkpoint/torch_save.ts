/**
 * The bytes of `torch.save` checkpoints: a zip archive of stored (uncompressed) records under one
 * folder — `data.pkl` (the pickle), `data/<key>` (one little-endian storage per tensor, aligned to 64
 * bytes as PyTorch aligns them), `byteorder` and `version` — which `torch.load` reads. Node writes
 * them to a file (torch_file.ts); the browser gathers them into a Blob.
 */
import { crc32 } from '../util/crc32.js';
import { FlattenError } from '../util/errors.js';
import { PickleWriter, type PyValue } from './pickle_writer.js';

const ALIGN = 64;

interface Record {
  name: Uint8Array;
  data: Uint8Array;
  crc: number;
  offset: number;
}

function bytesOf(a: Float32Array | BigInt64Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** A local file header; the extra field pads the data start to a multiple of 64. */
function localHeader(r: Record): Uint8Array {
  const base = 30 + r.name.length + 4;
  const pad = (ALIGN - ((r.offset + base) % ALIGN)) % ALIGN;
  const h = new DataView(new ArrayBuffer(base + pad));
  h.setUint32(0, 0x04034b50, true);
  h.setUint16(4, 20, true);
  h.setUint32(14, r.crc, true);
  h.setUint32(18, r.data.length, true);
  h.setUint32(22, r.data.length, true);
  h.setUint16(26, r.name.length, true);
  h.setUint16(28, 4 + pad, true);
  new Uint8Array(h.buffer).set(r.name, 30);
  h.setUint16(30 + r.name.length, 0x4246, true); // 'FB', PyTorch's padding field
  h.setUint16(32 + r.name.length, pad, true);
  return new Uint8Array(h.buffer);
}

function centralHeader(r: Record): Uint8Array {
  const c = new DataView(new ArrayBuffer(46 + r.name.length));
  c.setUint32(0, 0x02014b50, true);
  c.setUint16(4, 20, true);
  c.setUint16(6, 20, true);
  c.setUint32(16, r.crc, true);
  c.setUint32(20, r.data.length, true);
  c.setUint32(24, r.data.length, true);
  c.setUint16(28, r.name.length, true);
  c.setUint32(42, r.offset, true);
  new Uint8Array(c.buffer).set(r.name, 46);
  return new Uint8Array(c.buffer);
}

/**
 * The zip records of a `torch.save` archive, in file order: every piece of the file, so a writer can
 * stream them to a file (Node) or gather them into a Blob (the browser) without one large copy.
 */
export function* torchArchive(root: PyValue, name: string): Generator<Uint8Array> {
  const { pickle, tensors } = PickleWriter.dump(root);
  const stem = name.replace(/\.[^.]*$/, '') || 'archive';
  const prefix = /^[\w.-]+$/.test(stem) ? stem : 'archive';
  const enc = new TextEncoder();
  const payloads: [string, Uint8Array][] = [
    ['data.pkl', pickle],
    ['byteorder', enc.encode('little')],
    ...tensors.map((t, i): [string, Uint8Array] => [`data/${i}`, bytesOf(t.data)]),
    ['version', enc.encode('3\n')],
  ];
  let offset = 0;
  const records: Record[] = [];
  for (const [path, data] of payloads) {
    const r: Record = { name: enc.encode(`${prefix}/${path}`), data, crc: crc32(data), offset };
    if (offset + data.length > 0xffffffff) throw new FlattenError('output', `${name}: checkpoints over 4 GiB are not supported`);
    records.push(r);
    const header = localHeader(r);
    offset += header.length + data.length;
    yield header;
    yield data;
  }
  const cdStart = offset;
  for (const r of records) {
    const c = centralHeader(r);
    offset += c.length;
    yield c;
  }
  const end = new DataView(new ArrayBuffer(22));
  end.setUint32(0, 0x06054b50, true);
  end.setUint16(8, records.length, true);
  end.setUint16(10, records.length, true);
  end.setUint32(12, offset - cdStart, true);
  end.setUint32(16, cdStart, true);
  yield new Uint8Array(end.buffer);
}
