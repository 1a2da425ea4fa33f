/**
 * Reads `torch.save` zip checkpoints (`.pth`) without PyTorch: the zip container, the pickle in
 * `data.pkl` (through the safe reader in `pickle.ts`) and the storages under `data/`. Only the state
 * dict that is asked for is resolved, and only the storages its tensors point at are ever read.
 */
import { DTYPE_BYTES, type DType, formatShape, numel } from '../tensor.js';
import { fileError } from '../util/errors.js';
import { gatherAsFloat32 } from './dtype.js';
import { CHECKPOINT_LIMITS } from './limits.js';
import type { LazyTensor, StateDict } from './lazy.js';
import {
  AllowedCallable,
  describe,
  BUILD_STATE,
  latin1Bytes,
  PyGlobal,
  PyObject,
  keyText,
  PyTuple,
  type PickleHooks,
  type Rebuilder,
  unpickle,
} from './pickle.js';
import type { ByteSource } from './source.js';
import { ZipArchive, type ZipEntry } from './zip.js';

/** Storage class names and their element types: a `Map`, so that names like `__proto__` find nothing. */
const STORAGE_DTYPES: ReadonlyMap<string, DType> = new Map<string, DType>([
  ['FloatStorage', 'float32'],
  ['HalfStorage', 'float16'],
  ['BFloat16Storage', 'bfloat16'],
  ['DoubleStorage', 'float64'],
  ['LongStorage', 'int64'],
  ['IntStorage', 'int32'],
  ['ShortStorage', 'int16'],
  ['CharStorage', 'int8'],
  ['ByteStorage', 'uint8'],
  ['BoolStorage', 'bool'],
]);

/** A storage as the pickle names it; its bytes are in `data/<key>`. */
class StorageRef {
  constructor(
    readonly key: string,
    readonly typeName: string,
    readonly dtype: DType | null,
    readonly numel: number,
  ) {}
}

/** A tensor as the pickle describes it: a strided view into a storage. */
class TensorRef {
  [BUILD_STATE]: unknown;
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
}

/** Options for {@link openCheckpoint}. */
export interface TorchReadOptions {
  /** Use `state_dict_ema` (the EMA weights CSwin's EMA training saves). */
  ema?: boolean;
}

/** The legacy (PyTorch < 1.6) serialization starts with this pickled magic number. */
const LEGACY_MAGIC = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

/**
 * Opens a `torch.save` checkpoint and resolves its state dict (`model`, or `state_dict_ema` with
 * `ema`, or `state_dict`, or a bare state dict). Tensors are read lazily.
 *
 * @example
 * ```ts
 * const sd = readTorchCheckpoint(new FileSource('flatten_swin_t.pth'));
 * console.log(sd.entry, sd.tensors.get('head.weight')?.shape);
 * sd.close();
 * ```
 */
export function readTorchCheckpoint(src: ByteSource, opts: TorchReadOptions = {}): StateDict {
  const head = src.read(0, Math.min(src.size, LEGACY_MAGIC.length));
  if (head.length === LEGACY_MAGIC.length && LEGACY_MAGIC.every((b, i) => head[i] === b)) {
    throw fileError(
      'format',
      src.name,
      'is a legacy torch.save file (PyTorch < 1.6), which is not supported; re-save it with a current PyTorch (torch.save(torch.load(f), f2))',
    );
  }
  const zip = new ZipArchive(src);
  const pkl = findDataPkl(zip, src.name);
  const prefix = pkl.name.slice(0, -'data.pkl'.length);
  const bigEndian = readByteOrder(zip, prefix, src.name);
  const root = unpickle(readPickle(zip, pkl), src.name, torchPickleHooks(src.name));
  const { entry, dict, others } = selectStateDict(root, opts, src.name);
  if (dict.size > CHECKPOINT_LIMITS.maxTensors) {
    throw fileError(
      'checkpoint',
      src.name,
      `its '${entry}' entry holds ${dict.size} entries, more than the ${CHECKPOINT_LIMITS.maxTensors} tensors a state dict may have`,
    );
  }
  const tensors = new Map<string, LazyTensor>();
  const storages = new StorageReader(zip, prefix);
  for (const [name, value] of stripModulePrefix(dict)) {
    if (!(value instanceof TensorRef)) continue;
    if (tensors.size >= CHECKPOINT_LIMITS.maxTensors) {
      throw fileError(
        'checkpoint',
        src.name,
        `its '${entry}' entry holds more than ${CHECKPOINT_LIMITS.maxTensors} tensors; expected a model state dict`,
      );
    }
    tensors.set(name, lazyTensor(name, value, storages, bigEndian));
  }
  if (tensors.size === 0) {
    throw fileError('checkpoint', src.name, `the '${entry}' entry holds no tensors; expected a model state dict`);
  }
  const classNames = root instanceof Map ? root.get('classes') : undefined;
  return {
    source: src.name,
    format: 'torch',
    entry,
    tensors,
    otherEntries: others,
    ...(Array.isArray(classNames) && classNames.every((c) => typeof c === 'string') ? { classNames: classNames as string[] } : {}),
    close: () => src.close(),
  };
}

/** A whole `torch.save` file as plain values: dicts as `Map`s, lists and tuples as arrays, tensors lazy. */
export interface TorchTree {
  readonly source: string;
  readonly root: unknown;
  /** Closes the file. Tensors cannot be read afterwards. */
  close(): void;
}

/**
 * Opens a `torch.save` file and resolves every value in it (a training checkpoint's optimizer and
 * scheduler state, epoch, EMA), with tensors read only when asked for.
 *
 * @example
 * ```ts
 * const ckpt = readTorchTree(new FileSource('ckpt_epoch_1.pth'));
 * const epoch = (ckpt.root as Map<unknown, unknown>).get('epoch');
 * ckpt.close();
 * ```
 */
export function readTorchTree(src: ByteSource): TorchTree {
  const zip = new ZipArchive(src);
  const pkl = findDataPkl(zip, src.name);
  const prefix = pkl.name.slice(0, -'data.pkl'.length);
  const bigEndian = readByteOrder(zip, prefix, src.name);
  const root = unpickle(readPickle(zip, pkl), src.name, torchPickleHooks(src.name));
  const storages = new StorageReader(zip, prefix);
  // Each value is resolved once, however often the pickle shares it, so shared and cyclic values cost
  // no more than their size.
  const done = new Map<object, unknown>();
  const resolve = (v: unknown, path: string, depth: number): unknown => {
    if (depth > 64) throw fileError('checkpoint', src.name, `values nest deeper than 64 levels at ${path}`);
    if (v === null || typeof v !== 'object') return v;
    if (done.has(v)) return done.get(v);
    if (v instanceof TensorRef) {
      const t = lazyTensor(path, v, storages, bigEndian);
      done.set(v, t);
      return t;
    }
    if (v instanceof Map) {
      const out = new Map<unknown, unknown>();
      done.set(v, out);
      for (const [k, x] of v) out.set(k, resolve(x, `${path}.${keyText(k)}`, depth + 1));
      return out;
    }
    if (Array.isArray(v)) {
      const out: unknown[] = [];
      done.set(v, out);
      for (let i = 0; i < v.length; i++) out.push(resolve(v[i], `${path}[${i}]`, depth + 1));
      return out;
    }
    return v;
  };
  return { source: src.name, root: resolve(root, '', 0), close: () => src.close() };
}

/** The allow-list a torch `data.pkl` is read with (storages become references, never data). */
export function torchPickleHooks(file: string): PickleHooks {
  return { persistentLoad: (pid) => persistentLoad(pid, file), callables: makeCallables(file), containers: CONTAINERS };
}

function readPickle(zip: ZipArchive, pkl: ZipEntry): Uint8Array {
  if (pkl.size > CHECKPOINT_LIMITS.maxPickleBytes) {
    throw fileError(
      'checkpoint',
      zip.source.name,
      `${pkl.name} declares ${pkl.size} bytes, more than the ${CHECKPOINT_LIMITS.maxPickleBytes} a checkpoint's pickle may have (a Swin-B training checkpoint's has about 100 KB)`,
    );
  }
  return zip.read(pkl);
}

function findDataPkl(zip: ZipArchive, file: string): ZipEntry {
  const found = [...zip.entries.values()].filter((e) => /^[^/]*\/?data\.pkl$/.test(e.name));
  if (found.length === 0) {
    throw fileError('format', file, 'is a zip archive but holds no data.pkl; expected a torch.save checkpoint');
  }
  if (found.length > 1) {
    throw fileError(
      'format',
      file,
      `holds several data.pkl files (${found.map((e) => e.name).join(', ')}); expected one torch.save checkpoint`,
    );
  }
  return found[0];
}

function readByteOrder(zip: ZipArchive, prefix: string, file: string): boolean {
  const e = zip.entries.get(`${prefix}byteorder`);
  if (!e) return false;
  const text = new TextDecoder().decode(zip.read(e, 16)).trim();
  if (text !== 'little' && text !== 'big') throw fileError('format', file, `unknown byteorder '${text}'`);
  return text === 'big';
}

function persistentLoad(pid: unknown, file: string): StorageRef {
  if (!(pid instanceof PyTuple) || pid.length < 5 || pid[0] !== 'storage') {
    throw fileError('pickle', file, 'the pickle refers to a persistent object that is not a torch storage');
  }
  const [, type, key, , count] = pid;
  const typeName = type instanceof PyGlobal ? type.name : type instanceof AllowedCallable ? type.name : keyText(type);
  if (typeof key !== 'string' || !/^[\w.-]+$/.test(key)) throw fileError('pickle', file, 'a storage has an invalid key');
  if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 0) {
    throw fileError('pickle', file, `storage ${key} declares an invalid size`);
  }
  return new StorageRef(key, typeName, STORAGE_DTYPES.get(typeName) ?? null, count);
}

function intList(v: unknown, what: string, file: string): number[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isSafeInteger(x))) {
    throw fileError('pickle', file, `a tensor's ${what} is not a list of integers`);
  }
  return v as number[];
}

function rebuildTensor(args: unknown[], file: string): TensorRef {
  const [storage, offset, size, stride] = args;
  if (!(storage instanceof StorageRef)) throw fileError('pickle', file, 'a tensor is rebuilt from something that is not a storage');
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset))
    throw fileError('pickle', file, 'a tensor has an invalid storage offset');
  return new TensorRef(storage, offset, intList(size, 'size', file), intList(stride, 'stride', file));
}

/**
 * A call's string argument, as the call takes it: never a value turned into text (a tuple of tuples
 * of one memoised string would turn into more text than memory holds), at most `max` characters.
 */
function text(v: unknown, call: string, file: string, max = Number.POSITIVE_INFINITY): string {
  if (typeof v !== 'string') throw fileError('pickle', file, `${call} is called with a ${describe(v)}; it takes a string`);
  if (v.length > max) throw fileError('pickle', file, `${call} is called with a string of ${v.length} characters; it takes at most ${max}`);
  return v;
}

/** The functions `_rebuild_from_type_v2` may hand its arguments to. */
const TENSOR_REBUILDERS = new Set(['torch._utils._rebuild_tensor_v2', 'torch._utils._rebuild_tensor', 'torch._utils._rebuild_parameter']);

function makeCallables(file: string): Map<string, Rebuilder> {
  const m = new Map<string, Rebuilder>();
  m.set('collections.OrderedDict', (args) => {
    const out = new Map<unknown, unknown>();
    if (Array.isArray(args[0])) for (const kv of args[0]) if (Array.isArray(kv)) out.set(kv[0], kv[1]);
    return out;
  });
  m.set('torch._utils._rebuild_tensor_v2', (a) => rebuildTensor(a, file));
  m.set('torch._utils._rebuild_tensor', (a) => rebuildTensor(a, file));
  m.set('torch._utils._rebuild_parameter', (a) => a[0]);
  m.set('torch._utils._rebuild_parameter_with_state', (a) => a[0]);
  m.set('torch._tensor._rebuild_from_type_v2', (a) => {
    const [fn, , args] = a;
    if (!(fn instanceof AllowedCallable) || !Array.isArray(args) || !TENSOR_REBUILDERS.has(fn.name)) {
      throw fileError('pickle', file, 'a tensor subclass is rebuilt through a function flatten-vit does not run');
    }
    return fn.fn([...args]);
  });
  m.set('torch.Size', (a) => (Array.isArray(a[0]) ? [...a[0]] : []));
  m.set('torch.device', (a) => text(a[0], 'torch.device', file, 64));
  m.set('_codecs.encode', (a) => latin1Bytes(text(a[0] ?? '', '_codecs.encode', file)));
  m.set('builtins.set', (a) => new Set(Array.isArray(a[0]) ? a[0] : []));
  m.set('builtins.frozenset', (a) => new Set(Array.isArray(a[0]) ? a[0] : []));
  m.set('builtins.bytearray', (a) => (a[0] instanceof Uint8Array ? a[0] : new Uint8Array(0)));
  m.set('copyreg._reconstructor', (a) => {
    if (!(a[0] instanceof PyGlobal))
      throw fileError('pickle', file, 'copyreg._reconstructor is asked to build something that is not a class');
    return new PyObject(a[0], []);
  });
  for (const np of ['numpy.core.multiarray', 'numpy._core.multiarray']) {
    m.set(`${np}.scalar`, (a) => numpyScalar(a));
    m.set(`${np}._reconstruct`, (a) => new PyObject(new PyGlobal('numpy', 'ndarray'), a.slice(1)));
  }
  m.set('numpy.dtype', (a) => new NumpyDType(text(a[0], 'numpy.dtype', file, 64)));
  return m;
}

/** A numpy dtype, kept only to decode numpy scalars (e.g. a `max_accuracy` saved as numpy.float64). */
class NumpyDType {
  [BUILD_STATE]: unknown;
  constructor(readonly descr: string) {}
}

function numpyScalar(a: unknown[]): unknown {
  const [dt, raw] = a;
  if (!(dt instanceof NumpyDType) || !(raw instanceof Uint8Array)) return null;
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const state = dt[BUILD_STATE];
  const le = !(Array.isArray(state) && state[1] === '>');
  const n = raw.length;
  switch (dt.descr) {
    case 'f8':
      return n === 8 ? dv.getFloat64(0, le) : null;
    case 'f4':
      return n === 4 ? dv.getFloat32(0, le) : null;
    case 'i8':
      return n === 8 ? Number(dv.getBigInt64(0, le)) : null;
    case 'i4':
      return n === 4 ? dv.getInt32(0, le) : null;
    default:
      return null;
  }
}

const CONTAINERS: ReadonlyMap<string, () => unknown> = new Map<string, () => unknown>([
  ['collections.OrderedDict', () => new Map()],
  ['builtins.dict', () => new Map()],
  ['builtins.list', () => []],
  ['builtins.set', () => new Set()],
]);

function isStateDict(v: unknown): v is Map<unknown, unknown> {
  if (!(v instanceof Map)) return false;
  for (const x of v.values()) if (x instanceof TensorRef) return true;
  return false;
}

/** The first entries of a list of keys for a message, each cut to 80 characters. */
function listed(keys: readonly string[]): string {
  const shown = keys.slice(0, 8).map((k) => (k.length > 80 ? `${k.slice(0, 80)}…` : k));
  return `${shown.join(', ')}${keys.length > 8 ? ` and ${keys.length - 8} more` : ''}`;
}

function selectStateDict(
  root: unknown,
  opts: TorchReadOptions,
  file: string,
): { entry: string; dict: Map<unknown, unknown>; others: string[] } {
  if (root instanceof PyObject) {
    throw fileError(
      'checkpoint',
      file,
      `stores a whole pickled ${root.cls.qualifiedName} object, not a state dict; save model.state_dict() instead`,
    );
  }
  if (!(root instanceof Map)) {
    throw fileError('checkpoint', file, 'holds no state dict: expected a dict with a `model` entry or a dict of tensors');
  }
  const keys = [...root.keys()].map(keyText);
  const pick = (entry: string) => {
    const dict = root.get(entry);
    if (!isStateDict(dict)) {
      throw fileError('checkpoint', file, `its '${entry}' entry is not a state dict of tensors`);
    }
    return { entry, dict, others: keys.filter((k) => k !== entry) };
  };
  if (opts.ema) {
    if (!root.has('state_dict_ema')) {
      throw fileError(
        'checkpoint',
        file,
        `has no 'state_dict_ema' entry for --ema (entries: ${listed(keys)}); drop --ema to use '${root.has('model') ? 'model' : keys[0]}'`,
      );
    }
    return pick('state_dict_ema');
  }
  for (const entry of ['model', 'state_dict']) if (root.has(entry)) return pick(entry);
  if (isStateDict(root)) return { entry: '(root)', dict: root, others: [] };
  throw fileError(
    'checkpoint',
    file,
    `holds no state dict: expected a 'model', 'state_dict' or 'state_dict_ema' entry, or a dict of tensors; found entries ${listed(keys) || '(none)'}`,
  );
}

function stripModulePrefix(dict: Map<unknown, unknown>): [string, unknown][] {
  const entries = [...dict.entries()].map(([k, v]) => [keyText(k), v] as [string, unknown]);
  const tensorKeys = entries.filter(([, v]) => v instanceof TensorRef).map(([k]) => k);
  if (tensorKeys.length > 0 && tensorKeys.every((k) => k.startsWith('module.'))) {
    return entries.map(([k, v]) => [k.startsWith('module.') ? k.slice(7) : k, v]);
  }
  return entries;
}

/**
 * Reads storage bytes for tensors: stored entries (all `torch.save` writes) by the range a tensor
 * uses, without reading the rest; deflated entries inflated once each and kept, within
 * {@link CHECKPOINT_LIMITS}.maxInflatedBytes in all.
 */
class StorageReader {
  private readonly inflated = new Map<string, Uint8Array>();
  private inflatedBytes = 0;

  constructor(
    readonly zip: ZipArchive,
    readonly prefix: string,
  ) {}

  entry(key: string): ZipEntry | undefined {
    return this.zip.entries.get(`${this.prefix}data/${key}`);
  }

  /** `length` bytes from byte `offset` of storage `key` (whose entry holds at least `declared` bytes). */
  read(entry: ZipEntry, declared: number, offset: number, length: number): Uint8Array {
    if (entry.method === 0) return this.zip.readRange(entry, offset, length);
    let whole = this.inflated.get(entry.name);
    if (!whole) {
      if (this.inflatedBytes + entry.size > CHECKPOINT_LIMITS.maxInflatedBytes) {
        throw fileError(
          'checkpoint',
          this.zip.source.name,
          `its compressed storages inflate to more than ${CHECKPOINT_LIMITS.maxInflatedBytes} bytes; torch.save stores storages uncompressed, so re-save the checkpoint with torch.save`,
        );
      }
      whole = this.zip.read(entry, declared);
      this.inflated.set(entry.name, whole);
      this.inflatedBytes += whole.length;
    }
    return whole.subarray(offset, offset + length);
  }
}

function lazyTensor(name: string, t: TensorRef, storages: StorageReader, bigEndian: boolean): LazyTensor {
  const file = storages.zip.source.name;
  const st = t.storage;
  const bad = (msg: string) => fileError('checkpoint', file, `tensor ${name}: ${msg}`);
  if (st.dtype === null) {
    return {
      dtype: 'float32',
      shape: t.shape,
      read: () => {
        throw bad(`storage type ${st.typeName} is not supported (float32/16/64, bfloat16, integers and bool are)`);
      },
    };
  }
  const dtype = st.dtype;
  if (t.shape.length !== t.stride.length) throw bad(`size ${formatShape(t.shape)} and stride ${formatShape(t.stride)} differ in length`);
  if (t.shape.some((d) => d < 0) || t.stride.some((s) => s < 0) || t.offset < 0) {
    throw bad(`negative size, stride or offset (size ${formatShape(t.shape)}, stride ${formatShape(t.stride)}, offset ${t.offset})`);
  }
  const count = numel(t.shape);
  if (count > CHECKPOINT_LIMITS.maxTensorElements) {
    throw bad(`declares ${count} elements, more than the ${CHECKPOINT_LIMITS.maxTensorElements} supported`);
  }
  let extent = t.offset;
  if (count > 0) for (let i = 0; i < t.shape.length; i++) extent += (t.shape[i] - 1) * t.stride[i];
  if (count > 0 && extent >= st.numel) {
    throw bad(`extends to element ${extent} of a storage of ${st.numel} elements; the checkpoint is corrupt`);
  }
  const entry = storages.entry(st.key);
  if (!entry) throw bad(`its storage data/${st.key} is missing from the archive`);
  const itemBytes = DTYPE_BYTES[dtype];
  if (entry.size < st.numel * itemBytes) {
    throw bad(`storage data/${st.key} has ${entry.size} bytes but declares ${st.numel} ${dtype} elements`);
  }
  const span = count === 0 ? 0 : extent - t.offset + 1;
  if (span > 2 * CHECKPOINT_LIMITS.maxTensorElements) {
    throw bad(`spans ${span} elements of its storage for ${count} values; the checkpoint is corrupt`);
  }
  return {
    dtype,
    shape: t.shape,
    read: () => {
      if (count === 0) return new Float32Array(0);
      const bytes = storages.read(entry, st.numel * itemBytes, t.offset * itemBytes, span * itemBytes);
      const indices = isContiguous(t.shape, t.stride) ? null : stridedIndices(t.shape, t.stride, 0, count);
      return gatherAsFloat32(bytes, dtype, indices, count, bigEndian);
    },
  };
}

function isContiguous(shape: number[], stride: number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && stride[i] !== expected) return false;
    expected *= shape[i];
  }
  return true;
}

function stridedIndices(shape: number[], stride: number[], offset: number, count: number): Uint32Array {
  const out = new Uint32Array(count);
  const rank = shape.length;
  const idx = new Array<number>(rank).fill(0);
  let flat = offset;
  for (let i = 0; i < count; i++) {
    out[i] = flat;
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++;
      flat += stride[d];
      if (idx[d] < shape[d]) break;
      flat -= stride[d] * shape[d];
      idx[d] = 0;
    }
  }
  return out;
}
