/**
 * EXIF orientation, applied the way `PIL.ImageOps.exif_transpose` does. The official evaluation does
 * not apply it, so flatten-vit applies it only when asked.
 */
import type { RgbImage } from './image.js';

/**
 * Returns the image turned upright for EXIF orientation `o` (1–8).
 *
 * @example
 * ```ts
 * const upright = applyOrientation(image, 6); // a phone photo taken in portrait
 * ```
 */
export function applyOrientation(img: RgbImage, o: number): RgbImage {
  if (o <= 1 || o > 8) return img;
  const { width: W, height: H, data } = img;
  const swap = o >= 5;
  const w = swap ? H : W;
  const h = swap ? W : H;
  const src: (x: number, y: number) => [number, number] = [
    (x: number, y: number): [number, number] => [x, y],
    (x: number, y: number): [number, number] => [x, y],
    (x: number, y: number): [number, number] => [W - 1 - x, y],
    (x: number, y: number): [number, number] => [W - 1 - x, H - 1 - y],
    (x: number, y: number): [number, number] => [x, H - 1 - y],
    (x: number, y: number): [number, number] => [y, x],
    (x: number, y: number): [number, number] => [y, H - 1 - x],
    (x: number, y: number): [number, number] => [W - 1 - y, H - 1 - x],
    (x: number, y: number): [number, number] => [W - 1 - y, x],
  ][o];
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const [sx, sy] = src(x, y);
      const s = (sy * W + sx) * 3;
      const d = (y * w + x) * 3;
      out[d] = data[s];
      out[d + 1] = data[s + 1];
      out[d + 2] = data[s + 2];
    }
  return { width: w, height: h, data: out };
}
