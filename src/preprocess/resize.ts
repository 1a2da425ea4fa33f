/**
 * PIL's resampling, reproduced bit for bit (Pillow `libImaging/Resample.c`): a separable convolution
 * with the a = −0.5 cubic kernel (bicubic) or the triangle (bilinear), widened by the scale factor when
 * shrinking, 8-bit fixed-point coefficients (22 fractional bits), a horizontal pass rounded to uint8,
 * then a vertical pass rounded to uint8.
 */
import { FlattenError } from '../util/errors.js';
import { MAX_PIXELS_ENV, maxImagePixels, type RgbImage } from './image.js';

const PRECISION_BITS = 32 - 8 - 2;
const ONE = 2 ** PRECISION_BITS;
const HALF = 2 ** (PRECISION_BITS - 1);

/** The resampling filters `transforms` use: PIL's BICUBIC and BILINEAR. */
export type Resample = 'bicubic' | 'bilinear';

/** A filter's kernel and support, as Resample.c's `struct filter`. */
const FILTERS: Record<Resample, { kernel: (x: number) => number; support: number }> = {
  bicubic: {
    kernel: (x) => {
      const a = -0.5;
      if (x < 0) x = -x;
      if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
      if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
      return 0;
    },
    support: 2,
  },
  bilinear: {
    kernel: (x) => {
      if (x < 0) x = -x;
      return x < 1 ? 1 - x : 0;
    },
    support: 1,
  },
};

/** C's `(int)` cast: truncation toward zero. */
const trunc = (x: number) => (x < 0 ? Math.ceil(x) : Math.floor(x));

interface Coefficients {
  ksize: number;
  bounds: Int32Array;
  kk: Int32Array;
}

/** `precompute_coeffs` + `normalize_coeffs_8bpc` for resampling `inSize` samples to `outSize`. */
function coefficients(inSize: number, outSize: number, resample: Resample): Coefficients {
  const { kernel, support: filterSupport } = FILTERS[resample];
  const scale = inSize / outSize;
  const filterscale = scale < 1 ? 1 : scale;
  const support = filterSupport * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const kk = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const ss = 1 / filterscale;
    let xmin = trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const w = kernel((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    for (let x = 0; x < ksize; x++) {
      const v = x < xmax && ww !== 0 ? k[x] / ww : x < xmax ? k[x] : 0;
      kk[xx * ksize + x] = v < 0 ? trunc(-0.5 + v * ONE) : trunc(0.5 + v * ONE);
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, kk };
}

function clip8(ss: number): number {
  const v = Math.floor(ss / ONE);
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/**
 * Resizes to `width`×`height` exactly as `PIL.Image.resize((width, height), Image.BICUBIC)` (or
 * `Image.BILINEAR`).
 *
 * @example
 * ```ts
 * const small = resizeImage(image, 256, 256); // bicubic, as PIL
 * ```
 */
export function resizeImage(img: RgbImage, width: number, height: number, resample: Resample = 'bicubic', source = '<image>'): RgbImage {
  // The horizontal pass comes first (as in Pillow, whose rounding this reproduces), so its result has
  // the new width and the old height; an extreme aspect ratio can make that far larger than either image.
  const between = width * img.height;
  const limit = maxImagePixels();
  if (between > limit || width * height > limit) {
    throw new FlattenError(
      'image',
      `${source}: resizing ${img.width}x${img.height} to ${width}x${height} passes through ${Math.max(between, width * height)} pixels, more than the ${limit} allowed (${MAX_PIXELS_ENV} raises it); the aspect ratio is too extreme for this transform`,
    );
  }
  let cur = img;
  if (width !== img.width) {
    const { ksize, bounds, kk } = coefficients(img.width, width, resample);
    const out = new Uint8Array(width * img.height * 3);
    const src = img.data;
    for (let y = 0; y < img.height; y++) {
      const row = y * img.width * 3;
      for (let xx = 0; xx < width; xx++) {
        const xmin = bounds[xx * 2];
        const xmax = bounds[xx * 2 + 1];
        let s0 = HALF;
        let s1 = HALF;
        let s2 = HALF;
        for (let x = 0; x < xmax; x++) {
          const k = kk[xx * ksize + x];
          const p = row + (x + xmin) * 3;
          s0 += src[p] * k;
          s1 += src[p + 1] * k;
          s2 += src[p + 2] * k;
        }
        const o = (y * width + xx) * 3;
        out[o] = clip8(s0);
        out[o + 1] = clip8(s1);
        out[o + 2] = clip8(s2);
      }
    }
    cur = { width, height: img.height, data: out };
  }
  if (height !== cur.height) {
    const { ksize, bounds, kk } = coefficients(cur.height, height, resample);
    const out = new Uint8Array(width * height * 3);
    const src = cur.data;
    const stride = width * 3;
    for (let yy = 0; yy < height; yy++) {
      const ymin = bounds[yy * 2];
      const ymax = bounds[yy * 2 + 1];
      for (let i = 0; i < stride; i++) {
        let s = HALF;
        for (let y = 0; y < ymax; y++) s += src[(y + ymin) * stride + i] * kk[yy * ksize + y];
        out[yy * stride + i] = clip8(s);
      }
    }
    cur = { width, height, data: out };
  }
  return cur;
}
