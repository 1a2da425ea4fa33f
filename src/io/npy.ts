/**
 * NumPy `.npy` files (versions 1 to 3): the model's inputs and outputs on disk. Reading checks the
 * header against the file before anything is allocated; writing produces little-endian float32.
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { gatherAsFloat32 } from '../checkpoint/dtype.js';
import { type DType, DTYPE_BYTES, formatShape, numel, type Tensor } from '../tensor.js';
import { FlattenError, fileError } from '../util/errors.js';

const DESCR: Readonly<Record<string, DType>> = {
  '<f4': 'float32',
  '<f2': 'float16',
  '<f8': 'float64',
  '<i8': 'int64',
  '<i4': 'int32',
  '|u1': 'uint8',
};

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
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw bad('header lacks descr, fortran_order or shape');
  const dtype = DESCR[descr];
  if (!dtype) throw bad(`dtype ${descr} is not supported (expected <f4)`);
  if (fortran === 'True') throw bad('Fortran-ordered arrays are not supported; save with np.ascontiguousarray');
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => Number(s));
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw bad(`invalid shape (${shapeText})`);
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
  let fd: number | null = null;
  try {
    fd = openSync(path, 'r');
    const head = new Uint8Array(Math.min(fstatSync(fd).size, 65536 + 12));
    readSync(fd, head, 0, head.length, 0);
    return parseHeader(head, path).shape;
  } catch (e) {
    if (e instanceof FlattenError) throw e;
    throw fileError(
      'io',
      path,
      (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : `cannot read (${(e as NodeJS.ErrnoException).code})`,
    );
  } finally {
    if (fd !== null) closeSync(fd);
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
  const bad = (msg: string) => fileError('format', file, `is not a valid .npy file: ${msg}`);
  const { descr, dtype, shape, dataStart } = parseHeader(bytes, file);
  const count = numel(shape);
  const need = count * DTYPE_BYTES[dtype];
  if (count > 2 ** 31 - 1 || bytes.length - dataStart !== need) {
    throw bad(`header declares ${formatShape(shape)} ${descr} (${need} bytes of data) but the file holds ${bytes.length - dataStart}`);
  }
  return { shape, data: gatherAsFloat32(bytes.subarray(dataStart), dtype, null, count) };
}

/** Largest `.npy` file read (1 GiB: a batch of 1,700 images at 224²). */
export const MAX_NPY_BYTES = 2 ** 30;

/** Reads a `.npy` file as float32. */
export function readNpy(path: string): Tensor {
  let bytes: Uint8Array;
  try {
    const size = statSync(path).size;
    if (size > MAX_NPY_BYTES)
      throw fileError('input', path, `is ${size} bytes, more than the ${MAX_NPY_BYTES} bytes accepted for a .npy input`);
    bytes = readFileSync(path);
  } catch (e) {
    if (e instanceof FlattenError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw fileError(
      'io',
      path,
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a folder, not a .npy file' : `cannot read (${code})`,
    );
  }
  return decodeNpy(bytes, path);
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
