/**
 * The pixel-exact geometric steps of the training transforms: a crop (PIL `Image.crop`), a mirror
 * (`transpose(FLIP_LEFT_RIGHT)`) and a constant border (torchvision `pad(img, p, fill=0)`).
 */
import type { RgbImage } from './image.js';

/**
 * The `width`×`height` region whose top-left pixel is (`left`, `top`), all inside the image.
 *
 * @example
 * ```ts
 * const patch = crop(img, 10, 20, 64, 48);
 * ```
 */
export function crop(img: RgbImage, left: number, top: number, width: number, height: number): RgbImage {
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const from = ((y + top) * img.width + left) * 3;
    out.set(img.data.subarray(from, from + width * 3), y * width * 3);
  }
  return { width, height, data: out };
}

/**
 * The image mirrored left to right.
 *
 * @example
 * ```ts
 * const mirrored = flipLeftRight(img);
 * ```
 */
export function flipLeftRight(img: RgbImage): RgbImage {
  const { width: w, height: h, data } = img;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) out.set(data.subarray((y * w + x) * 3, (y * w + x) * 3 + 3), (y * w + w - 1 - x) * 3);
  }
  return { width: w, height: h, data: out };
}

/**
 * The image inside a black border `p` pixels wide.
 *
 * @example
 * ```ts
 * const framed = padBlack(img, 4); // 28×28 → 36×36
 * ```
 */
export function padBlack(img: RgbImage, p: number): RgbImage {
  const width = img.width + 2 * p;
  const height = img.height + 2 * p;
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < img.height; y++) {
    out.set(img.data.subarray(y * img.width * 3, (y + 1) * img.width * 3), ((y + p) * width + p) * 3);
  }
  return { width, height, data: out };
}
