/**
 * The raster parts of the analyses' pictures: matplotlib's `Blues` colour map, heat maps of a matrix,
 * `visualize.py`'s attention overlay on a photograph, and PNG output (zlib through fflate). The
 * figures around them (axes, titles, legends) are Vega-Lite's (charts.ts).
 */
import { zlibSync } from 'fflate';
import type { RgbImage } from '../preprocess/image.js';
import { concatBytes } from '../util/bytes.js';
import { crc32 } from '../util/crc32.js';

/** An RGB colour, 0–255 per channel. */
export type Rgb = readonly [number, number, number];

/** matplotlib's `Blues` (ColorBrewer), sampled at nine points and interpolated. */
export const BLUES: readonly Rgb[] = [
  [247, 251, 255],
  [222, 235, 247],
  [198, 219, 239],
  [158, 202, 225],
  [107, 174, 214],
  [66, 146, 198],
  [33, 113, 181],
  [8, 81, 156],
  [8, 48, 107],
];

/** `Blues` at v in [0, 1]. */
export function blues(v: number): Rgb {
  const x = Math.min(1, Math.max(0, v)) * (BLUES.length - 1);
  const i = Math.min(BLUES.length - 2, Math.floor(x));
  const f = x - i;
  return [0, 1, 2].map((c) => Math.round(BLUES[i][c] + (BLUES[i + 1][c] - BLUES[i][c]) * f)) as unknown as Rgb;
}

/** PNG bytes of an RGB image (8-bit RGB, filter type 0, zlib level 6). */
export function encodePng(img: RgbImage): Uint8Array {
  const stride = img.width * 3;
  const raw = new Uint8Array(img.height * (stride + 1));
  for (let y = 0; y < img.height; y++) raw.set(img.data.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  const chunk = (type: string, body: Uint8Array) => {
    const out = new Uint8Array(12 + body.length);
    const dv = new DataView(out.buffer);
    dv.setUint32(0, body.length);
    for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
    out.set(body, 8);
    dv.setUint32(8 + body.length, crc32(out.subarray(4, 8 + body.length)));
    return out;
  };
  const ihdr = new Uint8Array(13);
  new DataView(ihdr.buffer).setUint32(0, img.width);
  new DataView(ihdr.buffer).setUint32(4, img.height);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const parts = [
    Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlibSync(raw, { level: 6 })),
    chunk('IEND', new Uint8Array(0)),
  ];
  return concatBytes(parts);
}

/** `visualize.py`'s display gain for an N-token attention row: × N/196 × 10, clipped at 1. */
export const displayGain = (tokens: number) => (tokens / 196) * 10;

/**
 * A heat map of a matrix in `Blues`, one pixel per entry, with values scaled as `visualize.py`
 * scales them for display ({@link displayGain}).
 */
export function heatmap(values: ArrayLike<number>, rows: number, cols: number): RgbImage {
  const gain = displayGain(cols);
  const data = new Uint8Array(rows * cols * 3);
  for (let i = 0; i < rows * cols; i++) data.set(blues(values[i] * gain), i * 3);
  return { width: cols, height: rows, data };
}

/** The overlay's colour at full attention, and its background at none. */
export const OVERLAY_COLOUR: Rgb = [0, 0, 255];
export const OVERLAY_BACKGROUND: Rgb = [224, 224, 224];

/**
 * `visualize.py`'s `mask_image`: one attention row (a grid of weights in [0, 1]) over the image, as
 * blue over a light background at 70%, or (`query`) the query token in red.
 */
export function overlay(img: RgbImage, weights: ArrayLike<number>, gridH: number, gridW: number, query = false): RgbImage {
  const out = new Uint8Array(img.data.length);
  const color: Rgb = query ? [255, 33, 33] : OVERLAY_COLOUR;
  const bg = OVERLAY_BACKGROUND;
  for (let y = 0; y < img.height; y++)
    for (let x = 0; x < img.width; x++) {
      const a = weights[Math.floor((y * gridH) / img.height) * gridW + Math.floor((x * gridW) / img.width)];
      for (let c = 0; c < 3; c++) {
        const p = img.data[(y * img.width + x) * 3 + c];
        const v = query ? p * (1 - a) + a * color[c] : p * 0.3 + (a * color[c] + (1 - a) * bg[c]) * 0.7;
        out[(y * img.width + x) * 3 + c] = Math.floor(v);
      }
    }
  return { width: img.width, height: img.height, data: out };
}
