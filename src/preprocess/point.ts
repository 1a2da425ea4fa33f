/**
 * PIL's per-pixel lookup operations (`ImageOps` and timm's `solarize_add`), reproduced exactly: each
 * builds a 256-entry table per channel as Pillow does, in integers, and maps every sample through it.
 */
import type { RgbImage } from './image.js';

/** Maps channel c of every pixel through `luts[c]` (`Image.point`). */
function applyLuts(img: RgbImage, luts: readonly Uint8Array[]): RgbImage {
  const src = img.data;
  const out = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i += 3) {
    out[i] = luts[0][src[i]];
    out[i + 1] = luts[1][src[i + 1]];
    out[i + 2] = luts[2][src[i + 2]];
  }
  return { ...img, data: out };
}

const sameLut = (img: RgbImage, f: (v: number) => number) => {
  const lut = Uint8Array.from({ length: 256 }, (_, v) => f(v));
  return applyLuts(img, [lut, lut, lut]);
};

/** The 256-bin histogram of each channel. */
function histograms(img: RgbImage): Uint32Array[] {
  const h = [new Uint32Array(256), new Uint32Array(256), new Uint32Array(256)];
  const src = img.data;
  for (let i = 0; i < src.length; i += 3) {
    h[0][src[i]]++;
    h[1][src[i + 1]]++;
    h[2][src[i + 2]]++;
  }
  return h;
}

/**
 * `ImageOps.autocontrast(img)`: each channel stretched so its darkest sample becomes 0 and its
 * brightest 255.
 *
 * @example
 * ```ts
 * const stretched = autocontrast(img);
 * ```
 */
export function autocontrast(img: RgbImage): RgbImage {
  const luts = histograms(img).map((h) => {
    let lo = 0;
    while (lo < 255 && !h[lo]) lo++;
    let hi = 255;
    while (hi > 0 && !h[hi]) hi--;
    if (hi <= lo) return Uint8Array.from({ length: 256 }, (_, v) => v);
    const scale = 255 / (hi - lo);
    const offset = -lo * scale;
    return Uint8Array.from({ length: 256 }, (_, v) => Math.min(255, Math.max(0, Math.trunc(v * scale + offset))));
  });
  return applyLuts(img, luts);
}

/**
 * `ImageOps.equalize(img)`: each channel's histogram flattened.
 *
 * @example
 * ```ts
 * const flat = equalize(img);
 * ```
 */
export function equalize(img: RgbImage): RgbImage {
  const luts = histograms(img).map((h) => {
    const used = [...h].filter((v) => v > 0);
    const identity = Uint8Array.from({ length: 256 }, (_, v) => v);
    if (used.length <= 1) return identity;
    const step = Math.floor((used.reduce((a, b) => a + b, 0) - used[used.length - 1]) / 255);
    if (!step) return identity;
    const lut = new Uint8Array(256);
    let n = Math.floor(step / 2);
    for (let i = 0; i < 256; i++) {
      lut[i] = Math.min(255, Math.floor(n / step));
      n += h[i];
    }
    return lut;
  });
  return applyLuts(img, luts);
}

/**
 * `ImageOps.posterize(img, bits)`: keeps the top `bits` bits of each sample (0 gives black).
 *
 * @example
 * ```ts
 * const banded = posterize(img, 3);
 * ```
 */
export function posterize(img: RgbImage, bits: number): RgbImage {
  const mask = ~(2 ** (8 - bits) - 1);
  return sameLut(img, (v) => v & mask);
}

/**
 * `ImageOps.solarize(img, threshold)`: samples at or above the threshold inverted.
 *
 * @example
 * ```ts
 * const eerie = solarize(img, 128);
 * ```
 */
export function solarize(img: RgbImage, threshold: number): RgbImage {
  return sameLut(img, (v) => (v < threshold ? v : 255 - v));
}

/**
 * timm's `solarize_add(img, add, thresh=128)`: `add` added (up to 255) to samples below the threshold.
 *
 * @example
 * ```ts
 * const lifted = solarizeAdd(img, 40);
 * ```
 */
export function solarizeAdd(img: RgbImage, add: number, threshold = 128): RgbImage {
  return sameLut(img, (v) => (v < threshold ? Math.min(255, v + add) : v));
}

/**
 * `ImageOps.invert(img)`.
 *
 * @example
 * ```ts
 * const negative = invert(img);
 * ```
 */
export function invert(img: RgbImage): RgbImage {
  return sameLut(img, (v) => 255 - v);
}
