import { describe, expect, it } from 'vitest';
import { PyObject, PyTuple, unpickle } from '../../src/checkpoint/pickle.js';
import { PickleBytes } from '../helpers/torch_save.js';

const hooks = { persistentLoad: (pid: unknown) => ({ pid }), callables: new Map() };
const run = (b: number[] | Uint8Array) => unpickle(Uint8Array.from(b), 'x.pkl', hooks);
const p = () => new PickleBytes().op(0x80, 2);

describe('the pickle reader', () => {
  it('rebuilds plain data', () => {
    const b = p()
      .op(0x7d, 0x28)
      .unicode('a')
      .int(1)
      .unicode('b')
      .float(2.5)
      .unicode('c')
      .op(0x5d, 0x28)
      .int(-70000)
      .op(0x4e, 0x88, 0x65)
      .op(0x75, 0x2e);
    const v = run(b.b) as Map<string, unknown>;
    expect(v.get('a')).toBe(1);
    expect(v.get('b')).toBe(2.5);
    expect(v.get('c')).toEqual([-70000, null, true]);
  });

  it('handles protocol 4 frames, short strings, MEMOIZE and STACK_GLOBAL', () => {
    const body = [0x8c, 1, 0x61, 0x94, 0x8c, 1, 0x62, 0x94, 0x86, 0x94, 0x68, 0, 0x86, 0x2e];
    const frame = [0x80, 4, 0x95, body.length, 0, 0, 0, 0, 0, 0, 0, ...body];
    const v = run(frame) as unknown[];
    expect(v).toBeInstanceOf(PyTuple);
    expect(v[1]).toBe('a');
  });

  it('reads big integers from LONG1 and protocol-0 text opcodes', () => {
    expect(run([0x80, 2, 0x8a, 9, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x2e])).toBe(2n ** 64n);
    expect(run([...new TextEncoder().encode('I42\n.')])).toBe(42);
    expect(run([...new TextEncoder().encode('(lp0\nI1\naF2.5\na.')])).toEqual([1, 2.5]);
  });

  it('keeps unknown classes as inert objects', () => {
    const b = p().global('yacs.config', 'CfgNode').op(0x29, 0x81, 0x28).unicode('X').int(1).op(0x75).op(0x7d, 0x62, 0x2e);
    const v = run(b.b) as PyObject;
    expect(v).toBeInstanceOf(PyObject);
    expect(v.cls.qualifiedName).toBe('yacs.config.CfgNode');
    expect(v.items.get('X')).toBe(1);
  });

  it.each([
    ['os', 'system'],
    ['posix', 'system'],
    ['builtins', 'eval'],
    ['subprocess', 'call'],
    ['nt', 'system'],
  ])('refuses to call %s.%s', (mod, name) => {
    const b = p().global(mod, name).unicode('id').op(0x85, 0x52, 0x2e);
    expect(() => run(b.b)).toThrow(new RegExp(`call ${mod}\\.${name}, which flatten-vit never runs`));
  });

  it('refuses INST and OBJ, which call classes', () => {
    expect(() => run([...new TextEncoder().encode("(S'id'\nios\nsystem\n.")])).toThrow(/call os\.system/);
    const obj = p().op(0x28).global('subprocess', 'Popen').unicode('ls').op(0x6f, 0x2e);
    expect(() => run(obj.b)).toThrow(/call subprocess\.Popen/);
  });

  it('fails cleanly on damaged pickles', () => {
    expect(() => run([0x80, 2, 0xff])).toThrow(/unknown pickle opcode 0xff/);
    expect(() => run([0x80, 2, 0x68, 5, 0x2e])).toThrow(/memo reference 5 is out of range/);
    expect(() => run([0x80, 2, 0x58, 0xff, 0xff, 0, 0, 0x61])).toThrow(/truncated/);
    expect(() => run([0x80, 2, 0x2e])).toThrow(/stack underflow/);
    expect(() => run([0x80, 2, 0x4e])).toThrow(/truncated/);
    expect(() => run([0x80, 6, 0x4e, 0x2e])).toThrow(/protocol 6/);
  });

  it('survives 200,000 levels of nesting without recursion', () => {
    const depth = 200_000;
    const b = new Uint8Array(3 + depth * 2 + 1);
    b.set([0x80, 2]);
    b.fill(0x5d, 2, 2 + depth);
    for (let i = 0; i < depth - 1; i++) b[2 + depth + i] = 0x61;
    b[2 + 2 * depth - 1] = 0x2e;
    const v = run(b.subarray(0, 2 + 2 * depth));
    expect(Array.isArray(v)).toBe(true);
  });

  it('stops at each budget with a one-line error that names it', () => {
    const small = (limits: object) => (b: number[]) => () =>
      unpickle(Uint8Array.from([0x80, 2, ...b, 0x2e]), 'x.pkl', { ...hooks, limits });
    const none = (n: number) => new Array<number>(n).fill(0x4e);
    expect(small({ maxOps: 50 })(none(60))).toThrow(/x\.pkl: the pickle exceeds the limit of 50 opcodes/);
    expect(small({ maxStack: 10 })(none(11))).toThrow(/limit of 10 values on the stack/);
    expect(small({ maxStack: 10 })(new Array<number>(11).fill(0x28))).toThrow(/limit of 10 open MARKs/);
    expect(small({ maxMemo: 3 })([0x4e, 0x94, 0x94, 0x94, 0x94])).toThrow(/limit of 3 memoised values/);
    expect(small({ maxIntBytes: 4 })([0x8a, 5, 1, 2, 3, 4, 5])).toThrow(/limit of 4 bytes in one integer/);
    // A 20-item list handed to a call three times copies 63 elements.
    const list = [0x5d, 0x71, 0, 0x28, ...none(20), 0x65, 0x30];
    const call = [...new PickleBytes().global('collections', 'OrderedDict').b, 0x68, 0, 0x85, 0x52, 0x30];
    const callables = new Map([['collections.OrderedDict', () => new Map()]]);
    const copies = () =>
      unpickle(Uint8Array.from([0x80, 2, ...list, ...call, ...call, ...call, 0x4e, 0x2e]), 'x.pkl', {
        ...hooks,
        callables,
        limits: { maxCopied: 50 },
      });
    expect(copies).toThrow(/limit of 50 elements copied by calls/);
  });
});
