/**
 * NumPy `.npy` files (versions 1 to 3): the model's inputs and outputs on disk. Reading checks the
 * header against the file before anything is allocated; writing produces little-endian float32.
 */
import { closeSync, readSync, renameSync, writeFileSync } from 'node:fs';
import { openRegularFile, readRegularFile } from './regular_file.js';
import { gatherAsFloat32 } from '../checkpoint/dtype.js';
import { type DType, DTYPE_BYTES, formatShape, numel, type Tensor } from '../tensor.js';
import { fileError } from '../util/errors.js';

const DESCR: ReadonlyMap<string, DType> = new Map<string, DType>([
  ['<f4', 'float32'],
  ['<f2', 'float16'],
  ['<f8', 'float64'],
  ['<i8', 'int64'],
  ['<i4', 'int32'],
  ['|u1', 'uint8'],
]);

/** The largest dimension written in a header (10 digits; larger shapes fail the size check anyway). */
const MAX_DIGITS = 10;

/**
 * Parses the header, a Python dict literal as `numpy.lib.format` writes it
 * (`{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 224, 224), }`), in one pass without
 * backtracking: string keys; values that are strings, `True`/`False`, or tuples of decimal integers.
 */
function parseHeaderDict(text: string, fail: (msg: string) => never): Map<string, string | boolean | number[]> {
  let i = 0;
  const ws = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\n' || text[i] === '\t')) i++;
  };
  const expect = (c: string) => {
    ws();
    if (text[i] !== c) fail(`expected '${c}' at character ${i}`);
    i++;
  };
  const str = (): string => {
    ws();
    const q = text[i];
    if (q !== "'" && q !== '"') fail(`expected a quoted string at character ${i}`);
    const end = text.indexOf(q, i + 1);
    if (end < 0 || end - i > 64) fail(`has an unterminated or overlong string at character ${i}`);
    const v = text.slice(i + 1, end);
    i = end + 1;
    return v;
  };
  const int = (): number => {
    ws();
    const from = i;
    while (i < text.length && !',) \n\t'.includes(text[i])) i++;
    const token = text.slice(from, i);
    if (!/^(0|[1-9][0-9]*)$/.test(token) || token.length > MAX_DIGITS) {
      fail(`has a shape entry that is not a plain decimal integer at character ${from}`);
    }
    return Number(token);
  };
  const value = (): string | boolean | number[] => {
    ws();
    if (text[i] === "'" || text[i] === '"') return str();
    if (text.startsWith('True', i)) return ((i += 4), true);
    if (text.startsWith('False', i)) return ((i += 5), false);
    if (text[i] !== '(') fail(`has an unexpected value at character ${i}`);
    i++;
    const dims: number[] = [];
    let comma = false;
    for (;;) {
      ws();
      if (text[i] === ')') break;
      if (dims.length >= 32) fail('has a shape of more than 32 dimensions');
      dims.push(int());
      ws();
      comma = text[i] === ',';
      if (comma) i++;
      else if (text[i] !== ')') fail(`expected ',' or ')' in the shape at character ${i}`);
    }
    if (dims.length === 1 && !comma) fail('has a one-element shape without its comma, which Python reads as a number');
    i++;
    return dims;
  };
  const out = new Map<string, string | boolean | number[]>();
  expect('{');
  for (;;) {
    ws();
    if (text[i] === '}') break;
    const k = str();
    if (out.has(k)) fail(`repeats the key '${k}'`);
    expect(':');
    out.set(k, value());
    ws();
    if (text[i] === ',') i++;
    else if (text[i] !== '}') fail(`expected ',' or '}' at character ${i}`);
  }
  i++;
  ws();
  if (i !== text.length) fail(`has text after the dict at character ${i}`);
  return out;
}

/** The header of a `.npy` file: dtype, shape and where the data starts. */
function parseHeader(bytes: Uint8Array, file: string): { descr: string; dtype: DType; shape: number[]; dataStart: number } {
  const bad = (msg: string) => fileError('format', file, `is not a valid .npy file: ${msg}`);
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (bytes.length < 10 || !magic.every((b, i) => bytes[i] === b)) throw bad('missing the \\x93NUMPY magic');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6];
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = dv.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw bad('truncated header');
    headerLen = dv.getUint32(8, true);
    start = 12;
  } else throw bad(`unknown version ${major}`);
  if (start + headerLen > bytes.length) throw bad('header runs past the end of the file');
  const header = new TextDecoder().decode(bytes.subarray(start, start + headerLen));
  const fields = parseHeaderDict(header, (msg) => {
    throw bad(`header ${msg}`);
  });
  const descr = fields.get('descr');
  const fortran = fields.get('fortran_order');
  const shape = fields.get('shape');
  if (typeof descr !== 'string' || typeof fortran !== 'boolean' || !Array.isArray(shape) || fields.size !== 3) {
    throw bad(`header must hold exactly 'descr' (a string), 'fortran_order' (True/False) and 'shape' (a tuple)`);
  }
  const dtype = DESCR.get(descr);
  if (!dtype) throw bad(`dtype ${descr} is not supported (expected <f4)`);
  if (fortran) throw bad('Fortran-ordered arrays are not supported; save with np.ascontiguousarray');
  return { descr, dtype, shape, dataStart: start + headerLen };
}

/**
 * The shape a `.npy` file declares, from its header alone (the data is not read).
 *
 * @example
 * ```ts
 * readNpyShape('batch0_x.npy'); // [32, 3, 224, 224]
 * ```
 */
export function readNpyShape(path: string): number[] {
  const { fd, size } = openRegularFile(path, 'a .npy file');
  try {
    const head = new Uint8Array(Math.min(size, 65536 + 12));
    readSync(fd, head, 0, head.length, 0);
    return parseHeader(head, path).shape;
  } finally {
    closeSync(fd);
  }
}

/**
 * Parses `.npy` bytes into a float32 tensor (float16/float64/integer data is converted).
 *
 * @example
 * ```ts
 * const x = decodeNpy(readFileSync('input.npy'), 'input.npy'); // x.shape = [1, 3, 224, 224]
 * ```
 */
export function decodeNpy(bytes: Uint8Array, file = '<npy>'): Tensor {
  return decode(bytes, file, false);
}

/** {@link decodeNpy}; with `share`, aligned little-endian float32 data is viewed in place rather than copied. */
function decode(bytes: Uint8Array, file: string, share: boolean): Tensor {
  const bad = (msg: string) => fileError('format', file, `is not a valid .npy file: ${msg}`);
  const { descr, dtype, shape, dataStart } = parseHeader(bytes, file);
  const count = numel(shape);
  const need = count * DTYPE_BYTES[dtype];
  if (count > MAX_NPY_ELEMENTS) {
    throw bad(`header declares ${formatShape(shape)}, ${count} values; at most ${MAX_NPY_ELEMENTS} (1 GiB as float32) are read`);
  }
  if (bytes.length - dataStart !== need) {
    throw bad(`header declares ${formatShape(shape)} ${descr} (${need} bytes of data) but the file holds ${bytes.length - dataStart}`);
  }
  const at = bytes.byteOffset + dataStart;
  if (share && dtype === 'float32' && at % 4 === 0) return { shape, data: new Float32Array(bytes.buffer, at, count) };
  return { shape, data: gatherAsFloat32(bytes.subarray(dataStart), dtype, null, count) };
}

/** Largest `.npy` file read (1 GiB: a batch of 1,700 images at 224²). */
export const MAX_NPY_BYTES = 2 ** 30;

/** Most values a `.npy` file may hold, whatever its type: 1 GiB once widened to float32. */
export const MAX_NPY_ELEMENTS = 2 ** 28;

/** Reads a `.npy` file as float32. */
export function readNpy(path: string): Tensor {
  // The bytes were read for this call alone, so float32 data is used where it lies (no second copy).
  return decode(readRegularFile(path, MAX_NPY_BYTES, 'a .npy file'), path, true);
}

/**
 * Encodes a float32 tensor as `.npy` version 1.0 bytes.
 *
 * @example
 * ```ts
 * writeFileSync('logits.npy', encodeNpy({ shape: [1, 1000], data: logits }));
 * ```
 */
export function encodeNpy(t: Tensor): Uint8Array {
  const shape = t.shape.length === 1 ? `(${t.shape[0]},)` : `(${t.shape.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + t.data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), 10 + header.length);
  return out;
}

/** Writes a tensor as `.npy`, through a temporary file so a failure never leaves half a file. */
export function writeNpy(path: string, t: Tensor): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, encodeNpy(t));
  renameSync(tmp, path);
}
