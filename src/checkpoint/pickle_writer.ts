/**
 * Pickle protocol 2, written the way `torch.save` writes it: dicts, lists, tuples, ints, floats,
 * strings, `collections.OrderedDict` through REDUCE, and tensors through
 * `torch._utils._rebuild_tensor_v2` with a persistent id naming their storage record. Only classes
 * that PyTorch's `weights_only` loader allows are ever named, so `torch.load(f, weights_only=True)`
 * reads what this writes.
 */
import type { DType } from '../tensor.js';

/** A Python float (plain JS numbers that are integers are written as Python ints). */
export class PyFloat {
  constructor(readonly value: number) {}
}

/** A Python tuple. */
export class PyTupleValue {
  constructor(readonly items: readonly PyValue[]) {}
}

/** A `collections.OrderedDict` (what `state_dict()` returns). */
export class PyOrderedDict {
  constructor(readonly entries: readonly (readonly [PyValue, PyValue])[]) {}
}

/** A contiguous tensor with its own storage. */
export class PyTensor {
  constructor(
    readonly dtype: Extract<DType, 'float32' | 'int64'>,
    readonly shape: readonly number[],
    readonly data: Float32Array | BigInt64Array,
  ) {}
}

/** What can be pickled. A `Map` is a Python dict (keys in insertion order). */
export type PyValue =
  null | boolean | number | string | PyFloat | PyTupleValue | PyOrderedDict | PyTensor | readonly PyValue[] | Map<PyValue, PyValue>;

/** A Python float. */
export const pyFloat = (v: number): PyFloat => new PyFloat(v);
/** A Python tuple. */
export const pyTuple = (...items: PyValue[]): PyTupleValue => new PyTupleValue(items);

const STORAGE_CLASS = { float32: 'FloatStorage', int64: 'LongStorage' } as const;

/** A pickle being written, with the tensors it refers to (storage key = index). */
export class PickleWriter {
  private readonly bytes: number[] = [];
  readonly tensors: PyTensor[] = [];

  private op(...xs: number[]): void {
    for (const x of xs) this.bytes.push(x);
  }

  private text(s: string): void {
    for (const x of new TextEncoder().encode(s)) this.bytes.push(x);
  }

  private global(module: string, name: string): void {
    this.op(0x63);
    this.text(`${module}\n${name}\n`);
  }

  private unicode(s: string): void {
    const b = new TextEncoder().encode(s);
    const n = b.length;
    this.op(0x58, n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24);
    for (const x of b) this.bytes.push(x);
  }

  private int(v: number): void {
    if (!Number.isSafeInteger(v)) throw new Error(`internal: ${v} is not an integer to pickle`);
    if (v >= 0 && v < 256) return this.op(0x4b, v);
    if (v >= 0 && v < 65536) return this.op(0x4d, v & 0xff, v >>> 8);
    const d = new DataView(new ArrayBuffer(8));
    if (v >= -(2 ** 31) && v < 2 ** 31) {
      d.setInt32(0, v, true);
      return this.op(0x4a, ...new Uint8Array(d.buffer, 0, 4));
    }
    d.setBigInt64(0, BigInt(v), true);
    this.op(0x8a, 8, ...new Uint8Array(d.buffer));
  }

  private float(v: number): void {
    const d = new DataView(new ArrayBuffer(8));
    d.setFloat64(0, v, false);
    this.op(0x47, ...new Uint8Array(d.buffer));
  }

  private items(entries: Iterable<readonly [PyValue, PyValue]>): void {
    const list = [...entries];
    if (list.length === 0) return;
    this.op(0x28);
    for (const [k, v] of list) {
      this.value(k);
      this.value(v);
    }
    this.op(0x75);
  }

  private tuple(items: readonly PyValue[]): void {
    if (items.length === 0) return this.op(0x29);
    this.op(0x28);
    for (const x of items) this.value(x);
    this.op(0x74);
  }

  private tensor(t: PyTensor): void {
    const key = String(this.tensors.length);
    this.tensors.push(t);
    this.global('torch._utils', '_rebuild_tensor_v2');
    this.op(0x28);
    // persistent id ('storage', torch.FloatStorage, key, 'cpu', numel)
    this.op(0x28);
    this.unicode('storage');
    this.global('torch', STORAGE_CLASS[t.dtype]);
    this.unicode(key);
    this.unicode('cpu');
    this.int(t.data.length);
    this.op(0x74, 0x51);
    this.int(0);
    this.tuple(t.shape);
    const stride: number[] = [];
    let acc = 1;
    for (let i = t.shape.length - 1; i >= 0; i--) {
      stride[i] = acc;
      acc *= t.shape[i];
    }
    this.tuple(stride);
    this.op(0x89);
    this.global('collections', 'OrderedDict');
    this.op(0x29, 0x52);
    this.op(0x74, 0x52);
  }

  /** Appends one value. */
  value(v: PyValue): void {
    if (v === null) return this.op(0x4e);
    if (v === true) return this.op(0x88);
    if (v === false) return this.op(0x89);
    if (typeof v === 'number') return Number.isInteger(v) ? this.int(v) : this.float(v);
    if (typeof v === 'string') return this.unicode(v);
    if (v instanceof PyFloat) return this.float(v.value);
    if (v instanceof PyTupleValue) return this.tuple(v.items);
    if (v instanceof PyTensor) return this.tensor(v);
    if (v instanceof PyOrderedDict) {
      this.global('collections', 'OrderedDict');
      this.op(0x29, 0x52);
      return this.items(v.entries);
    }
    if (v instanceof Map) {
      this.op(0x7d);
      return this.items(v.entries());
    }
    this.op(0x5d);
    if (v.length === 0) return;
    this.op(0x28);
    for (const x of v) this.value(x);
    this.op(0x65);
  }

  /** The whole pickle of `root`: PROTO 2, the value, STOP. */
  static dump(root: PyValue): { pickle: Uint8Array; tensors: PyTensor[] } {
    const w = new PickleWriter();
    w.op(0x80, 2);
    w.value(root);
    w.op(0x2e);
    return { pickle: Uint8Array.from(w.bytes), tensors: w.tensors };
  }
}
