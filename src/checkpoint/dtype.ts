/**
 * Widening of stored element types to float32, the one type flatten-vit computes in.
 * float16 and bfloat16 widen exactly; float64 and integers round to the nearest float32.
 */
import type { DType } from '../tensor.js';

let halfTable: Float32Array | null = null;

/** All 65536 float16 values as float32, built once on first use. */
function halfToFloatTable(): Float32Array {
  if (halfTable) return halfTable;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) t[h] = sign * frac * 2 ** -24;
    else if (exp === 31) t[h] = frac ? NaN : sign * Infinity;
    else t[h] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  halfTable = t;
  return t;
}

/**
 * Reads `count` elements of `dtype` from little-endian `bytes`, element `i` at element index
 * `index(i)`, widened to float32.
 */
export function gatherAsFloat32(
  bytes: Uint8Array,
  dtype: DType,
  indices: ArrayLike<number> | null,
  count: number,
  bigEndian = false,
): Float32Array {
  const out = new Float32Array(count);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = !bigEndian;
  const at = (i: number) => (indices === null ? i : indices[i]);
  switch (dtype) {
    case 'float32':
      if (indices === null && le && bytes.byteOffset % 4 === 0) {
        out.set(new Float32Array(bytes.buffer, bytes.byteOffset, count));
      } else for (let i = 0; i < count; i++) out[i] = dv.getFloat32(at(i) * 4, le);
      break;
    case 'float16': {
      const t = halfToFloatTable();
      for (let i = 0; i < count; i++) out[i] = t[dv.getUint16(at(i) * 2, le)];
      break;
    }
    case 'bfloat16': {
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) u[i] = dv.getUint16(at(i) * 2, le) << 16;
      break;
    }
    case 'float64':
      for (let i = 0; i < count; i++) out[i] = dv.getFloat64(at(i) * 8, le);
      break;
    case 'int64':
      for (let i = 0; i < count; i++) out[i] = Number(dv.getBigInt64(at(i) * 8, le));
      break;
    case 'int32':
      for (let i = 0; i < count; i++) out[i] = dv.getInt32(at(i) * 4, le);
      break;
    case 'int16':
      for (let i = 0; i < count; i++) out[i] = dv.getInt16(at(i) * 2, le);
      break;
    case 'int8':
      for (let i = 0; i < count; i++) out[i] = dv.getInt8(at(i));
      break;
    case 'uint8':
    case 'bool':
      for (let i = 0; i < count; i++) out[i] = bytes[at(i)];
      break;
  }
  return out;
}
