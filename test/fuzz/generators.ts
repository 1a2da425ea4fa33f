/**
 * Structure-aware inputs for the fuzz targets, as fast-check arbitraries: random pickle opcode
 * streams, well-formed checkpoints whose tensors have random shapes, strides, offsets and storage
 * types, and `.npy` files with random headers.
 */
import fc from 'fast-check';
import type { DType } from '../../src/tensor.js';
import { OrderedDict, PickleBytes, TensorSpec, TorchSaver } from '../helpers/torch_save.js';

const small = fc.integer({ min: -3, max: 300 });
const bigInt = fc.oneof(small, fc.constantFrom(2 ** 31 - 1, 2 ** 32, 2 ** 53 - 1, -(2 ** 31), 2 ** 40));

/** One pickle opcode with plausible arguments. */
const opcode: fc.Arbitrary<number[]> = fc.oneof(
  fc.constantFrom<number[]>(
    [0x28],
    [0x29],
    [0x5d],
    [0x7d],
    [0x4e],
    [0x88],
    [0x89],
    [0x74],
    [0x85],
    [0x86],
    [0x87],
    [0x61],
    [0x65],
    [0x73],
    [0x75],
    [0x52],
    [0x81],
    [0x62],
    [0x51],
    [0x30],
    [0x31],
    [0x32],
    [0x94],
    [0x8f],
    [0x90],
    [0x91],
    [0x93],
  ),
  small.map((v) => new PickleBytes().int(v).b),
  fc.string({ maxLength: 12 }).map((s) => new PickleBytes().unicode(s).b),
  fc.integer({ min: 0, max: 20 }).map((i) => [0x68, i]),
  fc.integer({ min: 0, max: 20 }).map((i) => [0x71, i]),
  fc
    .constantFrom(
      ['collections', 'OrderedDict'],
      ['torch._utils', '_rebuild_tensor_v2'],
      ['torch', 'FloatStorage'],
      ['os', 'system'],
      ['yacs.config', 'CfgNode'],
    )
    .map(([m, n]) => new PickleBytes().global(m, n).b),
);

export const pickleStreams: fc.Arbitrary<Uint8Array> = fc
  .array(opcode, { maxLength: 40 })
  .map((ops) => Uint8Array.from([0x80, 2, ...ops.flat(), 0x2e]));

const dtypes: DType[] = ['float32', 'float16', 'bfloat16', 'float64', 'int64', 'int32', 'uint8', 'bool'];

/** A checkpoint whose one tensor is a random view into a random storage. */
export const tensorViews: fc.Arbitrary<Uint8Array> = fc
  .record({
    dtype: fc.constantFrom(...dtypes),
    count: fc.integer({ min: 0, max: 64 }),
    declared: fc.oneof(fc.constant(-1), bigInt),
    shape: fc.array(fc.oneof(fc.integer({ min: 0, max: 6 }), bigInt), { maxLength: 4 }),
    stride: fc.array(fc.oneof(fc.integer({ min: -1, max: 8 }), bigInt), { maxLength: 4 }),
    offset: fc.oneof(fc.integer({ min: -1, max: 40 }), bigInt),
  })
  .map(({ dtype, count, declared, shape, stride, offset }) => {
    const t = new TorchSaver();
    const values = Array.from({ length: count }, (_, i) => (i % 7) - 3);
    const key = declared < 0 ? t.storage(dtype, values) : t.rawStorage(dtype, t.encode(dtype, values), declared);
    return t.save(new OrderedDict([['w', new TensorSpec(key, shape, stride.slice(0, shape.length), offset)]]));
  });

/** `.npy` files with random dtype, order, shape and data length. */
export const npyFiles: fc.Arbitrary<Uint8Array> = fc
  .record({
    descr: fc.constantFrom('<f4', '<f8', '<f2', '<i8', '<i4', '|u1', '>f4', '<c8', 'O'),
    fortran: fc.boolean(),
    shape: fc.array(fc.oneof(fc.integer({ min: 0, max: 5 }), bigInt), { maxLength: 4 }),
    dataLength: fc.integer({ min: 0, max: 256 }),
    version: fc.constantFrom(1, 2, 3, 9),
  })
  .map(({ descr, fortran, shape, dataLength, version }) => {
    const header = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }\n`;
    const h = new TextEncoder().encode(header);
    const lenBytes = version === 1 ? 2 : 4;
    const out = new Uint8Array(8 + lenBytes + h.length + dataLength);
    out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
    const dv = new DataView(out.buffer);
    if (lenBytes === 2) dv.setUint16(8, h.length, true);
    else dv.setUint32(8, h.length, true);
    out.set(h, 8 + lenBytes);
    return out;
  });
