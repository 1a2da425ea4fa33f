/**
 * PIL's `ImageEnhance` (Color, Contrast, Brightness, Sharpness), reproduced bit for bit: each blends the
 * image with a degenerate version of it, `Image.blend(degenerate, image, factor)` (Pillow
 * `libImaging/Blend.c`, in float32, truncated, clamped only when extrapolating). The degenerate images
 * are the grey image (`convert('L')`, ITU-R 601-2 in 16-bit fixed point), its rounded mean, black, and
 * the `ImageFilter.SMOOTH` 3×3 filter (float32 kernel 1/13 with 5/13 at the centre, border pixels
 * kept).
 */
import type { RgbImage } from './image.js';

const f32 = Math.fround;

/** `convert('L')`: (R·19595 + G·38470 + B·7471 + 0x8000) >> 16 per pixel. */
export function grayscale(img: RgbImage): Uint8Array {
  const { data } = img;
  const n = img.width * img.height;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (data[i * 3] * 19595 + data[i * 3 + 1] * 38470 + data[i * 3 + 2] * 7471 + 0x8000) >>> 16;
  return out;
}

/** `Image.blend(degenerate, image, alpha)` where `degenerate(i)` gives the degenerate sample at byte i. */
function blend(img: RgbImage, degenerate: (i: number) => number, factor: number): RgbImage {
  const alpha = f32(factor);
  const src = img.data;
  if (alpha === 1) return { ...img, data: src.slice() };
  const out = new Uint8Array(src.length);
  const inside = alpha >= 0 && alpha <= 1;
  for (let i = 0; i < src.length; i++) {
    const d = degenerate(i);
    const t = f32(d + f32(alpha * (src[i] - d)));
    out[i] = inside ? t | 0 : t <= 0 ? 0 : t >= 255 ? 255 : t | 0;
  }
  return { ...img, data: out };
}

/**
 * `ImageEnhance.Color(img).enhance(factor)`: 0 grey, 1 unchanged, above 1 more saturated.
 *
 * @example
 * ```ts
 * const vivid = enhanceColor(img, 1.4);
 * ```
 */
export function enhanceColor(img: RgbImage, factor: number): RgbImage {
  const grey = grayscale(img);
  return blend(img, (i) => grey[(i / 3) | 0], factor);
}

/**
 * `ImageEnhance.Contrast(img).enhance(factor)`: blends with the grey level `int(mean(L) + 0.5)`.
 *
 * @example
 * ```ts
 * const flat = enhanceContrast(img, 0.6);
 * ```
 */
export function enhanceContrast(img: RgbImage, factor: number): RgbImage {
  const grey = grayscale(img);
  let sum = 0;
  for (let i = 0; i < grey.length; i++) sum += grey[i];
  const mean = Math.trunc(sum / grey.length + 0.5);
  return blend(img, () => mean, factor);
}

/**
 * `ImageEnhance.Brightness(img).enhance(factor)`: blends with black.
 *
 * @example
 * ```ts
 * const dark = enhanceBrightness(img, 0.7);
 * ```
 */
export function enhanceBrightness(img: RgbImage, factor: number): RgbImage {
  return blend(img, () => 0, factor);
}

/** `img.filter(ImageFilter.SMOOTH)` (Pillow `ImagingFilter3x3` on RGB). */
export function smooth(img: RgbImage): Uint8Array {
  const { width: w, height: h, data } = img;
  const out = data.slice();
  if (w < 3 || h < 3) return out;
  const edge = f32(f32(1) / f32(13));
  const centre = f32(f32(5) / f32(13));
  const k = [edge, edge, edge, edge, centre, edge, edge, edge, edge];
  const row3 = (r: number, x: number, c: number, k0: number, k1: number, k2: number) => {
    const p = (r * w + x) * 3 + c;
    return f32(f32(f32(data[p - 3] * k0) + f32(data[p] * k1)) + f32(data[p + 3] * k2));
  };
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1; x < w - 1; x++) {
      for (let c = 0; c < 3; c++) {
        let ss = f32(0.5);
        ss = f32(ss + row3(y + 1, x, c, k[0], k[1], k[2]));
        ss = f32(ss + row3(y, x, c, k[3], k[4], k[5]));
        ss = f32(ss + row3(y - 1, x, c, k[6], k[7], k[8]));
        out[(y * w + x) * 3 + c] = ss <= 0 ? 0 : ss >= 255 ? 255 : ss | 0;
      }
    }
  }
  return out;
}

/**
 * `ImageEnhance.Sharpness(img).enhance(factor)`: 0 smoothed, 1 unchanged, above 1 sharpened.
 *
 * @example
 * ```ts
 * const crisp = enhanceSharpness(img, 1.8);
 * ```
 */
export function enhanceSharpness(img: RgbImage, factor: number): RgbImage {
  const soft = smooth(img);
  return blend(img, (i) => soft[i], factor);
}
