/**
 * Test helper: a small `torch.save` emulator. It writes pickle protocol 2 the way PyTorch does
 * (OrderedDicts through REDUCE, tensors through `_rebuild_tensor_v2` with persistent storage ids,
 * yacs CfgNodes through NEWOBJ) inside a zip with one file per storage, and can also emit raw opcodes
 * to build hostile pickles.
 */
import type { DType } from '../../src/tensor.js';
import { writeZip, type ZipOptions } from './zip_writer.js';

/** A tensor as a view into a storage. */
export class TensorSpec {
  constructor(
    readonly storage: string,
    readonly shape: number[],
    readonly stride: number[],
    readonly offset = 0,
  ) {}
}
/** A Python float (plain JS numbers that are integers pickle as ints). */
export class PyFloat {
  constructor(readonly v: number) {}
}
export class Tuple {
  constructor(readonly items: PyValue[]) {}
}
export class OrderedDict {
  constructor(readonly entries: [PyValue, PyValue][]) {}
}
/** An instance of an arbitrary class built with NEWOBJ, SETITEMS and BUILD (like yacs CfgNode). */
export class Instance {
  constructor(
    readonly module: string,
    readonly name: string,
    readonly items: [PyValue, PyValue][],
    readonly state: PyValue = null,
  ) {}
}
/** Raw pickle bytes spliced in as a value. */
export class Raw {
  constructor(readonly bytes: number[]) {}
}
export type PyValue =
  null | boolean | number | string | PyFloat | PyValue[] | Tuple | Map<PyValue, PyValue> | OrderedDict | TensorSpec | Instance | Raw;

const STORAGE_CLASS: Record<DType, string> = {
  float32: 'FloatStorage',
  float16: 'HalfStorage',
  bfloat16: 'BFloat16Storage',
  float64: 'DoubleStorage',
  int64: 'LongStorage',
  int32: 'IntStorage',
  int16: 'ShortStorage',
  int8: 'CharStorage',
  uint8: 'ByteStorage',
  bool: 'BoolStorage',
};
const ITEM: Record<DType, number> = {
  float32: 4,
  float16: 2,
  bfloat16: 2,
  float64: 8,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
};

/** Rounds a float32 to float16 bits (round to nearest even). */
export function toHalfBits(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer)[0];
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  let mant = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = mant >> 13;
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) {
    h++;
    if (h === 0x400) {
      h = 0;
      e++;
      if (e >= 31) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | h;
}

function encodeStorage(dtype: DType, values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(values.length * ITEM[dtype]);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    switch (dtype) {
      case 'float32':
        dv.setFloat32(i * 4, v, true);
        break;
      case 'float16':
        dv.setUint16(i * 2, toHalfBits(v), true);
        break;
      case 'bfloat16':
        dv.setUint16(i * 2, new Uint32Array(new Float32Array([v]).buffer)[0] >>> 16, true);
        break;
      case 'float64':
        dv.setFloat64(i * 8, v, true);
        break;
      case 'int64':
        dv.setBigInt64(i * 8, BigInt(v), true);
        break;
      case 'int32':
        dv.setInt32(i * 4, v, true);
        break;
      case 'int16':
        dv.setInt16(i * 2, v, true);
        break;
      case 'int8':
        dv.setInt8(i, v);
        break;
      default:
        dv.setUint8(i, v);
    }
  }
  return out;
}

/** Pickle protocol 2 opcodes, as PyTorch's pickler emits them. */
export class PickleBytes {
  readonly b: number[] = [];
  op(...xs: number[]): this {
    this.b.push(...xs);
    return this;
  }
  text(s: string): this {
    for (const x of new TextEncoder().encode(s)) this.b.push(x);
    return this;
  }
  global(module: string, name: string): this {
    return this.op(0x63).text(`${module}\n${name}\n`);
  }
  unicode(s: string): this {
    const bytes = new TextEncoder().encode(s);
    const n = bytes.length;
    this.op(0x58, n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >>> 24);
    for (const x of bytes) this.b.push(x);
    return this;
  }
  int(v: number): this {
    if (v >= 0 && v < 256) return this.op(0x4b, v);
    if (v >= 0 && v < 65536) return this.op(0x4d, v & 0xff, v >> 8);
    if (v >= -(2 ** 31) && v < 2 ** 31) {
      const d = new DataView(new ArrayBuffer(4));
      d.setInt32(0, v, true);
      return this.op(0x4a, ...new Uint8Array(d.buffer));
    }
    const d = new DataView(new ArrayBuffer(8));
    d.setBigInt64(0, BigInt(v), true);
    return this.op(0x8a, 8, ...new Uint8Array(d.buffer));
  }
  float(v: number): this {
    const d = new DataView(new ArrayBuffer(8));
    d.setFloat64(0, v, false);
    return this.op(0x47, ...new Uint8Array(d.buffer));
  }
  value(v: PyValue, storages: Map<string, { dtype: DType; count: number }>): this {
    if (v === null) return this.op(0x4e);
    if (v === true) return this.op(0x88);
    if (v === false) return this.op(0x89);
    if (typeof v === 'number') return Number.isInteger(v) ? this.int(v) : this.float(v);
    if (typeof v === 'string') return this.unicode(v);
    if (v instanceof PyFloat) return this.float(v.v);
    if (v instanceof Raw) return this.op(...v.bytes);
    if (Array.isArray(v)) {
      this.op(0x5d, 0x28);
      for (const x of v) this.value(x, storages);
      return this.op(0x65);
    }
    if (v instanceof Tuple) {
      this.op(0x28);
      for (const x of v.items) this.value(x, storages);
      return this.op(0x74);
    }
    if (v instanceof Map || v instanceof OrderedDict) {
      if (v instanceof OrderedDict) this.global('collections', 'OrderedDict').op(0x29, 0x52);
      else this.op(0x7d);
      const entries = v instanceof Map ? [...v.entries()] : v.entries;
      if (entries.length === 0) return this;
      this.op(0x28);
      for (const [k, x] of entries) this.value(k, storages).value(x, storages);
      return this.op(0x75);
    }
    if (v instanceof Instance) {
      this.global(v.module, v.name).op(0x29, 0x81);
      if (v.items.length) {
        this.op(0x28);
        for (const [k, x] of v.items) this.value(k, storages).value(x, storages);
        this.op(0x75);
      }
      if (v.state !== null) this.value(v.state, storages).op(0x62);
      return this;
    }
    const st = storages.get(v.storage);
    if (!st) throw new Error(`test helper: unknown storage ${v.storage}`);
    this.global('torch._utils', '_rebuild_tensor_v2').op(0x28);
    this.op(0x28)
      .unicode('storage')
      .global('torch', STORAGE_CLASS[st.dtype])
      .unicode(v.storage)
      .unicode('cpu')
      .int(st.count)
      .op(0x74, 0x51);
    this.int(v.offset);
    this.value(new Tuple(v.shape), storages).value(new Tuple(v.stride), storages);
    this.op(0x89);
    this.global('collections', 'OrderedDict').op(0x29, 0x52);
    return this.op(0x74, 0x52);
  }
}

/** Options for {@link TorchSaver.save}. */
export interface SaveOptions extends ZipOptions {
  /** The archive's top folder (torch uses the file's stem). */
  prefix?: string;
  /** Storages whose data files are left out of the archive. */
  omit?: string[];
  /** Replaces the pickle entirely. */
  pickle?: Uint8Array;
}

/** Builds a checkpoint: add storages, describe tensors over them, then save a pickled root. */
export class TorchSaver {
  private readonly storages = new Map<string, { dtype: DType; count: number; bytes: Uint8Array }>();

  storage(dtype: DType, values: ArrayLike<number>): string {
    const key = String(this.storages.size);
    this.storages.set(key, { dtype, count: values.length, bytes: encodeStorage(dtype, values) });
    return key;
  }

  /** A storage from raw bytes that declares `declaredCount` elements, whatever the bytes hold. */
  rawStorage(dtype: DType, bytes: Uint8Array, declaredCount: number): string {
    const key = String(this.storages.size);
    this.storages.set(key, { dtype, count: declaredCount, bytes });
    return key;
  }

  /** The bytes a storage of `dtype` holding `values` has on disk. */
  encode(dtype: DType, values: ArrayLike<number>): Uint8Array {
    return encodeStorage(dtype, values);
  }

  /** A contiguous tensor with its own storage. */
  tensor(dtype: DType, shape: number[], values: ArrayLike<number>): TensorSpec {
    return new TensorSpec(this.storage(dtype, values), shape, contiguousStride(shape));
  }

  pickle(root: PyValue): Uint8Array {
    const p = new PickleBytes().op(0x80, 2);
    p.value(root, this.storages);
    p.op(0x2e);
    return Uint8Array.from(p.b);
  }

  save(root: PyValue, opts: SaveOptions = {}): Uint8Array {
    const prefix = opts.prefix ?? 'archive';
    const files = [{ name: `${prefix}/data.pkl`, data: opts.pickle ?? this.pickle(root) }];
    for (const [key, s] of this.storages) if (!opts.omit?.includes(key)) files.push({ name: `${prefix}/data/${key}`, data: s.bytes });
    files.push({ name: `${prefix}/version`, data: new TextEncoder().encode('3\n') });
    return writeZip(files, opts);
  }
}

export function contiguousStride(shape: number[]): number[] {
  const s: number[] = [];
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}
