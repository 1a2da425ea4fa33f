/**
 * PNG decoding (through pngjs) and the conversion to RGB that PIL's `convert('RGB')` applies to each
 * PNG mode: palette expansion, grayscale replication, alpha dropped, 16-bit RGB to its high byte, 16-bit
 * grayscale clipped at 255 (PIL's `I` → `RGB`), and low bit depths scaled to 0–255.
 */
import { PNG } from 'pngjs';
import { FlattenError } from '../util/errors.js';
import { exifOrientation } from './jpeg.js';
import { MAX_PIXELS, type RgbImage } from './image.js';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** True for the PNG signature. */
export function isPng(b: Uint8Array): boolean {
  return b.length >= 8 && SIGNATURE.every((v, i) => b[i] === v);
}

/** Reads the header and the eXIf orientation without decoding pixels. */
function scanChunks(
  b: Uint8Array,
  bad: (m: string) => never,
): { width: number; height: number; orientation: number; idat: number; bits: number } {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b.length < 33 || String.fromCharCode(...b.subarray(12, 16)) !== 'IHDR') bad('missing the IHDR header (truncated?)');
  const width = dv.getUint32(16);
  const height = dv.getUint32(20);
  const channels = [1, 0, 3, 1, 2, 0, 4][b[25]] ?? 0;
  const bits = b[24] * channels;
  let orientation = 1;
  let idat = 0;
  for (let p = 8; p + 8 <= b.length;) {
    const len = dv.getUint32(p);
    const type = String.fromCharCode(...b.subarray(p + 4, p + 8));
    if (p + 12 + len > b.length) break;
    if (type === 'eXIf') orientation = exifOrientation(b.subarray(p + 8, p + 8 + len));
    if (type === 'IDAT') idat += len;
    if (type === 'IEND') break;
    p += 12 + len;
  }
  return { width, height, orientation, idat, bits };
}

/** Deflate cannot expand data by more than this factor. */
const MAX_DEFLATE_RATIO = 1032;

/**
 * Decodes a PNG file to RGB as PIL would.
 *
 * @example
 * ```ts
 * const { image } = decodePng(readFileSync('cat.png'), 'cat.png');
 * ```
 */
export function decodePng(bytes: Uint8Array, file: string, maxPixels = MAX_PIXELS): { image: RgbImage; orientation: number } {
  const bad = (m: string): never => {
    throw new FlattenError('image', `${file}: cannot decode PNG: ${m}`);
  };
  const { width, height, orientation, idat, bits } = scanChunks(bytes, bad);
  if (width === 0 || height === 0) bad('zero width or height');
  if (width * height > maxPixels) bad(`${width}x${height} is larger than the ${maxPixels} pixels allowed`);
  const raw = height * (1 + Math.ceil((width * bits) / 8));
  if (bits > 0 && idat * MAX_DEFLATE_RATIO < raw)
    bad(`declares ${width}x${height} pixels but its image data is too small to hold them (truncated?)`);
  let png: PNG & { colorType: number; depth: number };
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { skipRescale: true }) as typeof png;
  } catch (e) {
    return bad(`${(e as Error).message} (the file may be truncated or damaged)`);
  }
  const src = png.data as unknown as ArrayLike<number>;
  const n = width * height;
  if (src.length !== n * 4) bad('decoded data has an unexpected size');
  const out = new Uint8Array(n * 3);
  const gray = png.colorType === 0 || png.colorType === 4;
  const depth = png.depth;
  let map: (v: number) => number;
  if (depth === 16) map = gray ? (v) => (v > 255 ? 255 : v) : (v) => v >> 8;
  else if (depth < 8 && png.colorType !== 3) map = (v) => Math.round((v * 255) / ((1 << depth) - 1));
  else map = (v) => v;
  for (let i = 0; i < n; i++) {
    out[i * 3] = map(src[i * 4]);
    out[i * 3 + 1] = map(src[i * 4 + 1]);
    out[i * 3 + 2] = map(src[i * 4 + 2]);
  }
  return { image: { width, height, data: out }, orientation };
}
