/**
 * A pickle reader that never runs code. It understands protocols 0 to 5 and rebuilds only plain
 * Python data (None, bools, numbers, strings, bytes, tuples, lists, dicts, sets) and an allow-list of
 * callables that `torch.save` checkpoints need: ordered dicts, the tensor rebuild functions and a few
 * pure data constructors. Any other class becomes an inert {@link PyObject}; a call to anything not on
 * the list (`os.system`, `builtins.eval`, ...) is refused with an error that names it.
 */
import { fileError } from '../util/errors.js';

/** A reference to a global (`module.name`) that is not on the allow-list: data only, never called. */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
}

/** An instance of a class that is kept as inert data (e.g. `yacs.config.CfgNode`). */
export class PyObject {
  state: unknown = undefined;
  readonly items = new Map<unknown, unknown>();
  readonly list: unknown[] = [];
  constructor(
    readonly cls: PyGlobal,
    readonly args: readonly unknown[],
  ) {}
}

/** A Python tuple (kept distinct from lists). */
export class PyTuple extends Array<unknown> {}

/** A value a callable on the allow-list produced from persistent ids or arguments. */
export type Rebuilder = (args: unknown[]) => unknown;

/** What the reader needs from its caller. */
export interface PickleHooks {
  /** Resolves a persistent id (torch: `('storage', type, key, location, numel)`). */
  persistentLoad(pid: unknown): unknown;
  /** Callables this pickle may call, by `module.name`. */
  callables: ReadonlyMap<string, Rebuilder>;
  /** Classes whose instances (`NEWOBJ`) map to a plain container instead of a {@link PyObject}. */
  containers?: ReadonlyMap<string, () => unknown>;
  /** Budgets; {@link PICKLE_LIMITS} by default. */
  limits?: Partial<PickleLimits>;
}

/**
 * Budgets that keep a hostile pickle from exhausting time or memory, each checked before the work it
 * bounds. The defaults are far above what any `torch.save` checkpoint needs: a Swin-T training
 * checkpoint with its optimizer state (947 tensors) executes 24,103 opcodes; the released Swin-T
 * weights, 6,117 opcodes and 1,577 memoised values.
 */
export interface PickleLimits {
  /** Opcodes executed. */
  maxOps: number;
  /** Values on the stack, and open MARKs. */
  maxStack: number;
  /** Memoised values. */
  maxMemo: number;
  /** Elements copied by calls and instantiations (a `torch.Size` or `REDUCE` of a long tuple copies it). */
  maxCopied: number;
  /** Bytes of one integer (`LONG1`, `LONG4`, text `INT`/`LONG` digits). */
  maxIntBytes: number;
}

/** The default {@link PickleLimits}. */
export const PICKLE_LIMITS: Readonly<PickleLimits> = {
  maxOps: 20_000_000,
  maxStack: 1 << 20,
  maxMemo: 1 << 20,
  maxCopied: 20_000_000,
  maxIntBytes: 1024,
};

const decoder = new TextDecoder('utf-8', { fatal: false });

function tuple(items: unknown[]): PyTuple {
  const t = new PyTuple();
  for (const x of items) t.push(x);
  return t;
}

/**
 * Unpickles `bytes` without executing anything. `file` names the source in errors.
 *
 * @example
 * ```ts
 * const value = unpickle(bytes, 'data.pkl', { persistentLoad: (pid) => pid, callables: new Map() });
 * ```
 */
export function unpickle(bytes: Uint8Array, file: string, hooks: PickleHooks): unknown {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  const limits = { ...PICKLE_LIMITS, ...hooks.limits };
  let pos = 0;
  let ops = 0;
  let copied = 0;
  const fail = (msg: string): never => {
    throw fileError('pickle', file, `${msg} (at byte ${pos} of the pickle)`);
  };
  const overBudget = (what: string, limit: number): never =>
    fail(`the pickle exceeds the limit of ${limit} ${what}, far more than any checkpoint needs; it is damaged or hostile`);
  /** Charges the elements a call or instantiation may copy out of its arguments. */
  const chargeCopies = (args: readonly unknown[]) => {
    copied += args.length;
    for (const a of args) copied += Array.isArray(a) ? a.length : a instanceof Map || a instanceof Set ? a.size : 0;
    if (copied > limits.maxCopied) overBudget('elements copied by calls', limits.maxCopied);
  };
  const memoSet = (i: number, v: unknown) => {
    if (!memo.has(i) && memo.size >= limits.maxMemo) overBudget('memoised values', limits.maxMemo);
    memo.set(i, v);
  };
  const long = (n: number) => {
    if (n > limits.maxIntBytes) overBudget('bytes in one integer', limits.maxIntBytes);
    return decodeLong(take(n));
  };
  const intText = (s: string) => {
    if (s.length > 2.5 * limits.maxIntBytes) overBudget('bytes in one integer', limits.maxIntBytes);
    return parseIntText(s, fail);
  };
  const need = (n: number) => {
    if (n < 0 || pos + n > bytes.length) fail(`pickle is truncated: needs ${n} more bytes`);
  };
  const u8 = () => {
    need(1);
    return bytes[pos++];
  };
  const u16 = () => {
    need(2);
    const v = dv.getUint16(pos, true);
    pos += 2;
    return v;
  };
  const u32 = () => {
    need(4);
    const v = dv.getUint32(pos, true);
    pos += 4;
    return v;
  };
  const i32 = () => {
    need(4);
    const v = dv.getInt32(pos, true);
    pos += 4;
    return v;
  };
  const u64 = () => {
    need(8);
    const v = dv.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(bytes.length)) fail('length field is larger than the whole pickle');
    return Number(v);
  };
  const take = (n: number) => {
    need(n);
    const b = bytes.subarray(pos, pos + n);
    pos += n;
    return b;
  };
  const line = () => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail('pickle is truncated: text line has no end');
    const s = decoder.decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const push = (v: unknown) => {
    if (stack.length >= limits.maxStack) overBudget('values on the stack', limits.maxStack);
    stack.push(v);
  };
  const pop = (): unknown => {
    if (stack.length === 0 || (marks.length > 0 && stack.length <= marks[marks.length - 1])) fail('pickle stack underflow');
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) fail('pickle stack underflow');
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    if (marks.length === 0) fail('pickle has no MARK to pop to');
    const m = marks.pop()!;
    return stack.splice(m);
  };
  const memoGet = (i: number) => {
    if (!memo.has(i)) fail(`pickle memo reference ${i} is out of range`);
    return memo.get(i);
  };
  const resolveGlobal = (module: string, name: string): unknown => {
    const q = `${module}.${name}`;
    const fn = hooks.callables.get(q);
    if (fn) return new AllowedCallable(q, fn);
    return new PyGlobal(module, name);
  };
  const call = (fn: unknown, args: unknown[]): unknown => {
    chargeCopies(args);
    if (fn instanceof AllowedCallable) return fn.fn(args);
    if (fn instanceof PyGlobal) {
      return fail(
        `the pickle asks to call ${fn.qualifiedName}, which flatten-vit never runs; only tensors, containers and known PyTorch classes are rebuilt, so this is not a plain checkpoint`,
      );
    }
    return fail(`the pickle asks to call a ${describe(fn)}, which is not callable`);
  };
  const instantiate = (cls: unknown, args: unknown[]): unknown => {
    chargeCopies(args);
    if (cls instanceof PyGlobal) {
      const make = hooks.containers?.get(cls.qualifiedName);
      return make ? make() : new PyObject(cls, args);
    }
    if (cls instanceof AllowedCallable) {
      const make = hooks.containers?.get(cls.name);
      if (make) return make();
    }
    return fail(`the pickle asks to instantiate a ${describe(cls)}`);
  };
  const setItem = (target: unknown, k: unknown, v: unknown) => {
    if (target instanceof Map) target.set(k, v);
    else if (target instanceof PyObject) target.items.set(k, v);
    else fail(`the pickle sets an item on a ${describe(target)}`);
  };
  const append = (target: unknown, items: unknown[]) => {
    if (Array.isArray(target) && !(target instanceof PyTuple)) {
      for (const x of items) target.push(x);
    } else if (target instanceof PyObject) for (const x of items) target.list.push(x);
    else if (target instanceof Set) for (const x of items) target.add(x);
    else fail(`the pickle appends to a ${describe(target)}`);
  };

  for (;;) {
    if (++ops > limits.maxOps) overBudget('opcodes', limits.maxOps);
    const op = u8();
    switch (op) {
      case 0x80: {
        const proto = u8();
        if (proto > 5) fail(`pickle protocol ${proto} is newer than the supported 5`);
        break;
      }
      case 0x95: // FRAME
        u64();
        break;
      case 0x2e: // STOP
        return top();
      case 0x28: // MARK
        if (marks.length >= limits.maxStack) overBudget('open MARKs', limits.maxStack);
        marks.push(stack.length);
        break;
      case 0x30: // POP
        if (marks.length > 0 && marks[marks.length - 1] === stack.length) marks.pop();
        else pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        push(top());
        break;
      case 0x4e: // NONE
        push(null);
        break;
      case 0x88: // NEWTRUE
        push(true);
        break;
      case 0x89: // NEWFALSE
        push(false);
        break;
      case 0x4b: // BININT1
        push(u8());
        break;
      case 0x4d: // BININT2
        push(u16());
        break;
      case 0x4a: // BININT
        push(i32());
        break;
      case 0x8a: // LONG1
        push(long(u8()));
        break;
      case 0x8b: {
        // LONG4
        const n = i32();
        if (n < 0) fail('negative LONG4 length');
        push(long(n));
        break;
      }
      case 0x47: {
        // BINFLOAT (big-endian double)
        need(8);
        push(dv.getFloat64(pos, false));
        pos += 8;
        break;
      }
      case 0x49: {
        // INT (text)
        const s = line().trim();
        if (s === '01') push(true);
        else if (s === '00') push(false);
        else push(intText(s));
        break;
      }
      case 0x4c: // LONG (text)
        push(intText(line().trim().replace(/L$/, '')));
        break;
      case 0x46: {
        // FLOAT (text)
        const v = Number(line().trim());
        if (Number.isNaN(v)) fail('bad FLOAT text');
        push(v);
        break;
      }
      case 0x58: // BINUNICODE
        push(decoder.decode(take(u32())));
        break;
      case 0x8c: // SHORT_BINUNICODE
        push(decoder.decode(take(u8())));
        break;
      case 0x8d: // BINUNICODE8
        push(decoder.decode(take(u64())));
        break;
      case 0x56: // UNICODE (text, raw-unicode-escape)
        push(line());
        break;
      case 0x54: // BINSTRING
        push(latin1(take(u32())));
        break;
      case 0x55: // SHORT_BINSTRING
        push(latin1(take(u8())));
        break;
      case 0x53: {
        // STRING (text, quoted)
        const s = line().trim();
        push(s.slice(1, -1));
        break;
      }
      case 0x42: // BINBYTES
        push(take(u32()).slice());
        break;
      case 0x43: // SHORT_BINBYTES
        push(take(u8()).slice());
        break;
      case 0x8e: // BINBYTES8
        push(take(u64()).slice());
        break;
      case 0x96: // BYTEARRAY8
        push(take(u64()).slice());
        break;
      case 0x97: // NEXT_BUFFER
      case 0x98: // READONLY_BUFFER
        fail('the pickle uses out-of-band buffers, which torch.save never writes');
        break;
      case 0x29: // EMPTY_TUPLE
        push(tuple([]));
        break;
      case 0x85: // TUPLE1
        push(tuple([pop()]));
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        const a = pop();
        push(tuple([a, b]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        const a = pop();
        push(tuple([a, b, c]));
        break;
      }
      case 0x74: // TUPLE
        push(tuple(popMark()));
        break;
      case 0x5d: // EMPTY_LIST
        push([]);
        break;
      case 0x6c: // LIST
        push(popMark());
        break;
      case 0x7d: // EMPTY_DICT
        push(new Map());
        break;
      case 0x64: {
        // DICT
        const items = popMark();
        const m = new Map();
        for (let i = 0; i + 1 < items.length; i += 2) m.set(key(items[i]), items[i + 1]);
        push(m);
        break;
      }
      case 0x8f: // EMPTY_SET
        push(new Set());
        break;
      case 0x91: // FROZENSET
        push(new Set(popMark()));
        break;
      case 0x90: {
        // ADDITEMS
        const items = popMark();
        append(top(), items);
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop();
        append(top(), [v]);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        append(top(), items);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItem(top(), key(k), v);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        if (items.length % 2 !== 0) fail('SETITEMS with an odd number of items');
        const target = top();
        for (let i = 0; i < items.length; i += 2) setItem(target, key(items[i]), items[i + 1]);
        break;
      }
      case 0x71: // BINPUT
        memoSet(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memoSet(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memoSet(memo.size, top());
        break;
      case 0x70: // PUT (text)
        memoSet(intText(line()) as number, top());
        break;
      case 0x68: // BINGET
        push(memoGet(u8()));
        break;
      case 0x6a: // LONG_BINGET
        push(memoGet(u32()));
        break;
      case 0x67: // GET (text)
        push(memoGet(intText(line()) as number));
        break;
      case 0x63: {
        // GLOBAL
        const module = line();
        const name = line();
        push(resolveGlobal(module, name));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        push(resolveGlobal(module as string, name as string));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const fn = pop();
        if (!(args instanceof PyTuple)) fail('REDUCE arguments are not a tuple');
        push(call(fn, [...(args as PyTuple)]));
        break;
      }
      case 0x81: {
        // NEWOBJ
        const args = pop();
        const cls = pop();
        push(instantiate(cls, Array.isArray(args) ? [...args] : []));
        break;
      }
      case 0x92: {
        // NEWOBJ_EX
        pop();
        const args = pop();
        const cls = pop();
        push(instantiate(cls, Array.isArray(args) ? [...args] : []));
        break;
      }
      case 0x69: {
        // INST: calls a class from text module/name
        const module = line();
        const name = line();
        const args = popMark();
        push(call(resolveGlobal(module, name), args));
        break;
      }
      case 0x6f: {
        // OBJ: calls the class at the mark
        const items = popMark();
        if (items.length === 0) fail('OBJ without a class');
        push(call(items[0], items.slice(1)));
        break;
      }
      case 0x62: {
        // BUILD
        const state = pop();
        const obj = top();
        if (obj instanceof PyObject) obj.state = state;
        else if (obj instanceof AllowedCallable || obj instanceof PyGlobal) fail('BUILD on a class');
        else if (obj !== null && typeof obj === 'object' && BUILD_STATE in obj) {
          (obj as { [BUILD_STATE]: unknown })[BUILD_STATE] = state;
        }
        break;
      }
      case 0x51: // BINPERSID
        push(hooks.persistentLoad(pop()));
        break;
      case 0x50: // PERSID (text)
        push(hooks.persistentLoad(line()));
        break;
      case 0x82: // EXT1
      case 0x83: // EXT2
      case 0x84: // EXT4
        fail('the pickle uses the copyreg extension registry, which a checkpoint never needs');
        break;
      default:
        fail(`unknown pickle opcode 0x${op.toString(16).padStart(2, '0')}; this is not a pickle torch.save wrote`);
    }
  }
}

/** Objects that want BUILD's state (numpy dtypes, tensors) expose this symbol. */
export const BUILD_STATE = Symbol('buildState');

/** A callable on the allow-list, as the pickle refers to it. */
export class AllowedCallable {
  constructor(
    readonly name: string,
    readonly fn: Rebuilder,
  ) {}
}

function key(k: unknown): unknown {
  return typeof k === 'bigint' && k >= BigInt(Number.MIN_SAFE_INTEGER) && k <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(k) : k;
}

function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
  return s;
}

function decodeLong(b: Uint8Array): number | bigint {
  if (b.length === 0) return 0;
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
  if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function parseIntText(s: string, fail: (m: string) => never): number | bigint {
  if (!/^[-+]?\d+$/.test(s.trim())) fail(`bad integer text ${JSON.stringify(s.slice(0, 20))}`);
  const v = BigInt(s.trim());
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/**
 * A dict key as text for names and messages: strings and numbers as they are, anything else
 * (a tuple, a nested list) by its kind, so that a hostile key never becomes an enormous string.
 */
export function keyText(k: unknown): string {
  if (typeof k === 'string') return k;
  if (typeof k === 'number' || typeof k === 'bigint' || typeof k === 'boolean') return String(k);
  return `<${describe(k)}>`;
}

/** What kind of value a pickle value is (`tuple`, `dict`, `class torch.FloatStorage`…), in a few characters. */
export function describe(v: unknown): string {
  if (v === null) return 'None';
  if (v instanceof PyGlobal) return `class ${v.qualifiedName}`;
  if (v instanceof AllowedCallable) return `function ${v.name}`;
  if (Array.isArray(v)) return v instanceof PyTuple ? 'tuple' : 'list';
  if (v instanceof Map) return 'dict';
  return typeof v;
}

/** Latin-1 decoding of a str, used by `_codecs.encode(str, 'latin1')` (how protocol 2 stores bytes). */
export function latin1Bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}
