/**
 * safetensors: an 8-byte little-endian header length, a JSON header naming each tensor's dtype,
 * shape and byte range, then the raw data. Reading is lazy like the torch reader; writing produces
 * float32 tensors in sorted order with an 8-byte-aligned header.
 */
import { DTYPE_BYTES, type DType, formatShape, numel, type Tensor } from '../tensor.js';
import { FlattenError, fileError } from '../util/errors.js';
import { gatherAsFloat32 } from './dtype.js';
import type { LazyTensor, StateDict } from './lazy.js';
import type { ByteSource } from './source.js';
import { CHECKPOINT_LIMITS } from './limits.js';

/** safetensors dtype names: a `Map`, so that names like `__proto__` find nothing. */
const DTYPES: ReadonlyMap<string, DType> = new Map<string, DType>([
  ['F32', 'float32'],
  ['F16', 'float16'],
  ['BF16', 'bfloat16'],
  ['F64', 'float64'],
  ['I64', 'int64'],
  ['I32', 'int32'],
  ['I16', 'int16'],
  ['I8', 'int8'],
  ['U8', 'uint8'],
  ['BOOL', 'bool'],
]);

/**
 * Largest header read: the format's reference implementation's limit, 100,000,000 bytes (its
 * `MAX_HEADER_SIZE`; above it, it fails with `HeaderTooLarge`). A Swin-B state dict's header is about
 * 30 KB; what makes a header large is its `__metadata__` strings.
 */
const MAX_HEADER = 100_000_000;

/**
 * Most JSON values in a header (objects, arrays, strings, numbers): a tensor's entry holds about ten,
 * so this allows ten times the tensors a state dict may have, and keeps `JSON.parse` of the largest
 * header to a few hundred megabytes (a header of 100 MB of `{}`s would otherwise build 25 million
 * objects).
 */
const MAX_VALUES = 10 * CHECKPOINT_LIMITS.maxTensors;

/** Deepest nesting of the JSON header (a header has 3 levels: the table, a tensor, its shape). */
const MAX_DEPTH = 8;

/**
 * The deepest bracket nesting of JSON text and (an upper bound of) how many values it holds, outside
 * strings, in one linear scan: checked before `JSON.parse`, which takes seconds on a few megabytes of
 * nested brackets and gigabytes on a hundred megabytes of tiny values.
 */
function jsonShape(text: string): { depth: number; values: number } {
  let depth = 0;
  let max = 0;
  let values = 1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) max = Math.max(max, ++depth);
    else if (c === 0x5d || c === 0x7d) depth--;
    else if (c === 0x2c || c === 0x3a) values++;
  }
  return { depth: max, values };
}

/** Most dimensions a tensor may have. */
const MAX_RANK = 32;

/** True if the first bytes look like a safetensors header (a sane length followed by `{`). */
export function looksLikeSafetensors(head: Uint8Array): boolean {
  if (head.length < 9) return false;
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const n = dv.getBigUint64(0, true);
  return n > 1n && n < 1n << 48n && head[8] === 0x7b;
}

/**
 * Opens a safetensors file; tensors are read on demand.
 *
 * @example
 * ```ts
 * const sd = readSafetensors(new FileSource('flatten_swin_t.safetensors'));
 * const w = sd.tensors.get('head.weight')!.read();
 * ```
 */
export function readSafetensors(src: ByteSource): StateDict {
  const bad = (msg: string) => fileError('format', src.name, `is not a valid safetensors file: ${msg}`);
  if (src.size < 8) throw bad('shorter than its 8-byte header length');
  const n = new DataView(src.read(0, 8).slice().buffer).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER)) throw bad(`HeaderTooLarge: its header length ${n} is above the format's limit of ${MAX_HEADER} bytes`);
  if (n > BigInt(src.size - 8)) throw bad(`header length ${n} exceeds the file`);
  let header: unknown;
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(src.read(8, Number(n)));
    const shape = jsonShape(text);
    if (shape.depth > MAX_DEPTH) throw bad(`header nests deeper than ${MAX_DEPTH} levels; a safetensors header has 3`);
    if (shape.values > MAX_VALUES) throw bad(`header holds more than ${MAX_VALUES} JSON values; a state dict's has about ten per tensor`);
    header = JSON.parse(text);
  } catch (e) {
    if (e instanceof FlattenError) throw e;
    throw bad('header is not JSON');
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw bad('header is not a JSON object');
  const dataStart = 8 + Number(n);
  const dataLen = src.size - dataStart;
  const tensors = new Map<string, LazyTensor>();
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') continue;
    const { dtype: dt, shape, data_offsets: offs } = (info ?? {}) as Record<string, unknown>;
    const dtype = typeof dt === 'string' ? DTYPES.get(dt) : undefined;
    if (!dtype) throw bad(`tensor ${name} has unsupported dtype ${typeof dt === 'string' ? dt : typeof dt}`);
    if (!Array.isArray(shape) || shape.length > MAX_RANK || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw bad(`tensor ${name} has an invalid shape`);
    }
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw bad(`tensor ${name} has invalid data_offsets`);
    }
    const [begin, end] = offs as number[];
    const count = numel(shape);
    if (count > CHECKPOINT_LIMITS.maxTensorElements) {
      throw bad(`tensor ${name} declares ${count} elements, more than the ${CHECKPOINT_LIMITS.maxTensorElements} supported`);
    }
    if (end < begin || end > dataLen)
      throw bad(`tensor ${name} lies outside the file (bytes ${begin}..${end} of ${dataLen}); the file is truncated`);
    if (end - begin !== count * DTYPE_BYTES[dtype]) {
      throw bad(`tensor ${name} ${formatShape(shape)} ${dtype} needs ${count * DTYPE_BYTES[dtype]} bytes but spans ${end - begin}`);
    }
    tensors.set(name, {
      dtype,
      shape,
      read: () => gatherAsFloat32(src.read(dataStart + begin, end - begin), dtype, null, count),
    });
  }
  return { source: src.name, format: 'safetensors', entry: '(root)', tensors, otherEntries: [], close: () => src.close() };
}

/**
 * Serializes float32 tensors to safetensors bytes (keys sorted, header padded to 8 bytes).
 *
 * @example
 * ```ts
 * const bytes = encodeSafetensors(new Map([['w', { shape: [2], data: new Float32Array([1, 2]) }]]));
 * ```
 */
export function encodeSafetensors(tensors: ReadonlyMap<string, Tensor>, metadata: Record<string, string> = {}): Uint8Array {
  const names = [...tensors.keys()].sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const name of names) {
    const t = tensors.get(name)!;
    const bytes = t.data.length * 4;
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((json.length + 8) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let p = 8 + headerBytes.length;
  for (const name of names) {
    const d = tensors.get(name)!.data;
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), p);
    p += d.byteLength;
  }
  return out;
}
