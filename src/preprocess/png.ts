/**
 * PNG decoding in pure TypeScript (chunks with CRC checks, zlib through fflate, the five filters,
 * Adam7 interlacing, bit depths 1–16) and the conversion to RGB that PIL's `convert('RGB')` applies to
 * each PNG mode: palette expansion, grayscale replication, alpha dropped, 16-bit RGB to its high byte,
 * 16-bit grayscale clipped at 255 (PIL's `I` → `RGB`), and low bit depths scaled to 0–255.
 */
import { unzlibSync } from 'fflate';
import { FlattenError } from '../util/errors.js';
import { crc32 } from '../util/crc32.js';
import { maxImagePixels, type RgbImage } from './image.js';
import { exifOrientation } from './jpeg.js';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Deflate cannot expand data by more than this factor. */
const MAX_DEFLATE_RATIO = 1032;

/** Channels per color type. */
const CHANNELS: Readonly<Record<number, number>> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/** True for the PNG signature. */
export function isPng(b: Uint8Array): boolean {
  return b.length >= 8 && SIGNATURE.every((v, i) => b[i] === v);
}

/** Adam7 passes: x0, y0, dx, dy. */
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
];

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Undoes the filters of one (sub-)image in place; returns the end offset. */
function unfilter(data: Uint8Array, start: number, rows: number, rowBytes: number, bpp: number, bad: (m: string) => never): number {
  let p = start;
  for (let y = 0; y < rows; y++) {
    if (p + 1 + rowBytes > data.length) bad('image data is shorter than the image (truncated?)');
    const type = data[p];
    const row = p + 1;
    const prev = y === 0 ? -1 : row - rowBytes - 1;
    for (let i = 0; i < rowBytes; i++) {
      const a = i >= bpp ? data[row + i - bpp] : 0;
      const b = prev >= 0 ? data[prev + i] : 0;
      const c = prev >= 0 && i >= bpp ? data[prev + i - bpp] : 0;
      const x = data[row + i];
      switch (type) {
        case 0:
          break;
        case 1:
          data[row + i] = x + a;
          break;
        case 2:
          data[row + i] = x + b;
          break;
        case 3:
          data[row + i] = x + ((a + b) >> 1);
          break;
        case 4:
          data[row + i] = x + paeth(a, b, c);
          break;
        default:
          bad(`unknown filter type ${type}`);
      }
    }
    p = row + rowBytes;
  }
  return p;
}

/**
 * Decodes a PNG file to RGB exactly as PIL would.
 *
 * @example
 * ```ts
 * const { image } = decodePng(bytes, 'cat.png');
 * ```
 */
export function decodePng(bytes: Uint8Array, file: string, maxPixels = maxImagePixels()): { image: RgbImage; orientation: number } {
  const bad = (m: string): never => {
    throw new FlattenError('image', `${file}: cannot decode PNG: ${m}`);
  };
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 33 || String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR') bad('missing the IHDR header (truncated?)');
  const width = dv.getUint32(16);
  const height = dv.getUint32(20);
  const depth = bytes[24];
  const colorType = bytes[25];
  const interlace = bytes[28];
  const channels = CHANNELS[colorType];
  if (!channels) bad(`unknown color type ${colorType}`);
  if (
    ![1, 2, 4, 8, 16].includes(depth) ||
    ((colorType === 2 || colorType === 4 || colorType === 6) && depth < 8) ||
    (colorType === 3 && depth > 8)
  ) {
    bad(`invalid bit depth ${depth} for color type ${colorType}`);
  }
  if (bytes[26] !== 0 || bytes[27] !== 0 || interlace > 1) bad('unknown compression, filter or interlace method');
  if (width === 0 || height === 0) bad('zero width or height');
  if (width * height > maxPixels)
    bad(`${width}x${height} is larger than the ${maxPixels} pixels allowed (FLATTEN_VIT_MAX_IMAGE_PIXELS raises the limit)`);
  const bits = depth * channels;
  let palette: Uint8Array | null = null;
  const idat: Uint8Array[] = [];
  let idatBytes = 0;
  let orientation = 1;
  let ended = false;
  for (let p = 8; p + 12 <= bytes.length;) {
    const len = dv.getUint32(p);
    const type = String.fromCharCode(...bytes.subarray(p + 4, p + 8));
    if (p + 12 + len > bytes.length) bad(`chunk ${type} runs past the end of the file (truncated?)`);
    if (crc32(bytes.subarray(p + 4, p + 8 + len)) !== dv.getUint32(p + 8 + len)) bad(`chunk ${type} fails its CRC check`);
    const body = bytes.subarray(p + 8, p + 8 + len);
    if (type === 'PLTE') palette = body;
    else if (type === 'IDAT') {
      idat.push(body);
      idatBytes += len;
    } else if (type === 'eXIf') orientation = exifOrientation(body);
    else if (type === 'IEND') {
      ended = true;
      break;
    }
    p += 12 + len;
  }
  if (!ended) bad('no IEND chunk (truncated?)');
  if (colorType === 3 && !palette) bad('a palette image without a palette');
  const passes = interlace ? ADAM7 : [[0, 0, 1, 1]];
  const sizes = passes.map(([x0, y0, dx, dy]) => [Math.ceil((width - x0) / dx), Math.ceil((height - y0) / dy)]);
  const raw = sizes.reduce((n, [w, h]) => n + (w > 0 && h > 0 ? h * (1 + Math.ceil((w * bits) / 8)) : 0), 0);
  if (idatBytes * MAX_DEFLATE_RATIO < raw)
    bad(`declares ${width}x${height} pixels but its image data is too small to hold them (truncated?)`);
  const joined = new Uint8Array(idatBytes);
  let at = 0;
  for (const c of idat) {
    joined.set(c, at);
    at += c.length;
  }
  let data: Uint8Array;
  try {
    data = unzlibSync(joined, { out: new Uint8Array(raw + 1) });
  } catch {
    return bad('its image data does not inflate (damaged?)');
  }
  if (data.length < raw) bad('image data is shorter than the image (truncated?)');

  // Samples of every pixel, as integers of the file's depth, in one interleaved array.
  const samples = depth === 16 ? new Uint16Array(width * height * channels) : new Uint8Array(width * height * channels);
  const bpp = Math.max(1, bits >> 3);
  let p = 0;
  passes.forEach(([x0, y0, dx, dy], i) => {
    const [w, h] = sizes[i];
    if (w <= 0 || h <= 0) return;
    const rowBytes = Math.ceil((w * bits) / 8);
    const start = p;
    p = unfilter(data, p, h, rowBytes, bpp, bad);
    for (let y = 0; y < h; y++) {
      const row = start + y * (rowBytes + 1) + 1;
      for (let x = 0; x < w; x++) {
        const dst = ((y0 + y * dy) * width + x0 + x * dx) * channels;
        for (let c = 0; c < channels; c++) {
          const s = x * channels + c;
          let v: number;
          if (depth === 16) v = (data[row + s * 2] << 8) | data[row + s * 2 + 1];
          else if (depth === 8) v = data[row + s];
          else v = (data[row + ((s * depth) >> 3)] >> (8 - depth - ((s * depth) & 7))) & ((1 << depth) - 1);
          samples[dst + c] = v;
        }
      }
    }
  });

  const n = width * height;
  const out = new Uint8Array(n * 3);
  const gray = colorType === 0 || colorType === 4;
  for (let i = 0; i < n; i++) {
    if (colorType === 3) {
      const idx = samples[i];
      if ((idx + 1) * 3 > palette!.length) bad(`palette index ${idx} is outside the palette`);
      out.set(palette!.subarray(idx * 3, idx * 3 + 3), i * 3);
    } else if (gray) {
      const v = samples[i * channels];
      const g = depth === 16 ? Math.min(v, 255) : depth < 8 ? Math.round((v * 255) / ((1 << depth) - 1)) : v;
      out[i * 3] = out[i * 3 + 1] = out[i * 3 + 2] = g;
    } else
      for (let c = 0; c < 3; c++) {
        const v = samples[i * channels + c];
        out[i * 3 + c] = depth === 16 ? v >> 8 : v;
      }
  }
  return { image: { width, height, data: out }, orientation };
}
