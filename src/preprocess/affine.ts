/**
 * PIL's affine transform with bilinear or bicubic resampling, reproduced bit for bit (Pillow
 * `libImaging/Geometry.c`, `ImagingGenericTransform`): each output pixel centre (x + ½, y + ½) is
 * mapped back into the source by the 2×3 matrix; outside the source it takes the fill colour, inside
 * it is interpolated in double precision from the 2×2 (bilinear) or 4×4 (bicubic) neighbourhood with
 * edge pixels repeated, and truncated to uint8 (bicubic clamped first). `Image.rotate` builds its
 * matrix as Pillow does, rounded to 15 decimals.
 */
import type { RgbImage } from './image.js';
import type { Resample } from './resize.js';

/** An affine map from output to source coordinates, as `Image.transform(size, AFFINE, data)`: x' = a·x + b·y + c, y' = d·x + e·y + f. */
export type AffineMatrix = readonly [number, number, number, number, number, number];

/** Geometry.c's FLOOR: `(int)floor(v)` for negatives, truncation otherwise (the same for finite v). */
const floor = Math.floor;
const clamp = (v: number, n: number) => (v < 0 ? 0 : v < n ? v : n - 1);

/** Geometry.c's BICUBIC macro: the cubic through v1..v4 at d ∈ [0, 1) between v2 and v3. */
function cubic(v1: number, v2: number, v3: number, v4: number, d: number): number {
  const p1 = v2;
  const p2 = -v1 + v3;
  const p3 = 2 * (v1 - v2) + v3 - v4;
  const p4 = -v1 + v2 - v3 + v4;
  return p1 + d * (p2 + d * (p3 + d * p4));
}

/**
 * `img.transform(img.size, Image.AFFINE, matrix, resample, fillcolor=fill)`.
 *
 * @example
 * ```ts
 * const shifted = affine(img, [1, 0, 5, 0, 1, 0], 'bicubic', [124, 116, 104]); // content moves 5 px left
 * ```
 */
export function affine(img: RgbImage, m: AffineMatrix, resample: Resample, fill: readonly [number, number, number]): RgbImage {
  const { width: w, height: h, data: src } = img;
  const out = new Uint8Array(w * h * 3);
  const [a0, a1, a2, a3, a4, a5] = m;
  for (let y = 0; y < h; y++) {
    const yc = y + 0.5;
    for (let x = 0; x < w; x++) {
      const xc = x + 0.5;
      let xin = a0 * xc + a1 * yc + a2;
      let yin = a3 * xc + a4 * yc + a5;
      const o = (y * w + x) * 3;
      if (!(xin >= 0 && xin < w && yin >= 0 && yin < h)) {
        out[o] = fill[0];
        out[o + 1] = fill[1];
        out[o + 2] = fill[2];
        continue;
      }
      xin -= 0.5;
      yin -= 0.5;
      const xf = floor(xin);
      const yf = floor(yin);
      const dx = xin - xf;
      const dy = yin - yf;
      if (resample === 'bilinear') {
        const x0 = clamp(xf, w) * 3;
        const x1 = clamp(xf + 1, w) * 3;
        const r0 = clamp(yf, h) * w * 3;
        const r1 = yf + 1 >= 0 && yf + 1 < h ? (yf + 1) * w * 3 : -1;
        for (let c = 0; c < 3; c++) {
          let a = src[r0 + x0 + c];
          let v1 = a + (src[r0 + x1 + c] - a) * dx;
          let v2 = v1;
          if (r1 >= 0) {
            a = src[r1 + x0 + c];
            v2 = a + (src[r1 + x1 + c] - a) * dx;
          }
          v1 = v1 + (v2 - v1) * dy;
          out[o + c] = v1 | 0;
        }
        continue;
      }
      // 4×4 neighbourhood: columns clamped to the image, rows past the bottom repeat the row above
      const c0 = clamp(xf - 1, w) * 3;
      const c1 = clamp(xf, w) * 3;
      const c2 = clamp(xf + 1, w) * 3;
      const c3 = clamp(xf + 2, w) * 3;
      const r0 = clamp(yf - 1, h) * w * 3;
      const r1 = yf >= 0 && yf < h ? yf * w * 3 : -1;
      const r2 = yf + 1 >= 0 && yf + 1 < h ? (yf + 1) * w * 3 : -1;
      const r3 = yf + 2 >= 0 && yf + 2 < h ? (yf + 2) * w * 3 : -1;
      for (let c = 0; c < 3; c++) {
        const v1 = cubic(src[r0 + c0 + c], src[r0 + c1 + c], src[r0 + c2 + c], src[r0 + c3 + c], dx);
        const v2 = r1 < 0 ? v1 : cubic(src[r1 + c0 + c], src[r1 + c1 + c], src[r1 + c2 + c], src[r1 + c3 + c], dx);
        const v3 = r2 < 0 ? v2 : cubic(src[r2 + c0 + c], src[r2 + c1 + c], src[r2 + c2 + c], src[r2 + c3 + c], dx);
        const v4 = r3 < 0 ? v3 : cubic(src[r3 + c0 + c], src[r3 + c1 + c], src[r3 + c2 + c], src[r3 + c3 + c], dx);
        const v = cubic(v1, v2, v3, v4, dy);
        out[o + c] = v <= 0 ? 0 : v >= 255 ? 255 : v | 0;
      }
    }
  }
  return { width: w, height: h, data: out };
}

/** Python's `round(x, 15)` for the matrix entries `Image.rotate` builds. */
const round15 = (x: number) => Number(x.toFixed(15));

/**
 * `img.rotate(degrees, resample, fillcolor=fill)`: counter-clockwise about the centre, same size. Angles
 * of 0 and 180 degrees (and 90/270 on square images) take Pillow's exact transposes.
 *
 * @example
 * ```ts
 * const turned = rotate(img, 12.5, 'bicubic', [124, 116, 104]);
 * ```
 */
export function rotate(img: RgbImage, degrees: number, resample: Resample, fill: readonly [number, number, number]): RgbImage {
  const angle = ((degrees % 360) + 360) % 360;
  const { width: w, height: h } = img;
  if (angle === 0) return { width: w, height: h, data: img.data.slice() };
  if (angle === 180 || ((angle === 90 || angle === 270) && w === h)) return quarterTurns(img, angle / 90);
  const r = (-angle * Math.PI) / 180;
  const a = round15(Math.cos(r));
  const b = round15(Math.sin(r));
  const d = round15(-Math.sin(r));
  const e = a;
  const cx = w / 2;
  const cy = h / 2;
  const c = a * -cx + b * -cy + cx;
  const f = d * -cx + e * -cy + cy;
  return affine(img, [a, b, c, d, e, f], resample, fill);
}

/** Pillow's `transpose(ROTATE_90 / 180 / 270)` on an image of equal sides (any sides for 180). */
function quarterTurns(img: RgbImage, turns: number): RgbImage {
  const { width: w, height: h, data } = img;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      // source pixel of output (x, y) for a counter-clockwise turn
      const [sx, sy] = turns === 1 ? [w - 1 - y, x] : turns === 2 ? [w - 1 - x, h - 1 - y] : [y, h - 1 - x];
      out.set(data.subarray((sy * w + sx) * 3, (sy * w + sx) * 3 + 3), (y * w + x) * 3);
    }
  }
  return { width: w, height: h, data: out };
}
