/**
 * The official training and evaluation transforms (`data/build.py`, timm `create_transform` with the
 * `AUG.*` keys; SPEC.md §9) as small composable steps, each a function of the image and a seeded
 * uniform source:
 *
 *   train: RandomResizedCrop (or, at 32 px and below, RandomCrop with 4 px padding) → horizontal flip
 *          → RandAugment (or ColorJitter when auto-augment is off) → ToTensor + Normalize → RandomErasing
 *   eval:  resize 256/224 × size (bicubic, square) → center crop → ToTensor + Normalize
 *          (at 32 px and below: ToTensor + Normalize only)
 *
 * Mixup/CutMix act on whole batches afterwards (`train/mixup.ts`).
 */
import { enhanceBrightness, enhanceColor, enhanceContrast } from '../preprocess/enhance.js';
import { crop, flipLeftRight, padBlack } from '../preprocess/geometry.js';
import type { RgbImage } from '../preprocess/image.js';
import { type Resample, resizeImage } from '../preprocess/resize.js';
import { evalImage, IMAGENET_MEAN, toNormalizedTensor } from '../preprocess/transform.js';
import { FlattenError } from '../util/errors.js';
import { normal, randint, roundHalfEven, uniformIn } from '../util/random.js';
import { type AugmentContext, randAugment, type RandAugmentPolicy } from './rand_augment.js';

/** The transform settings, from the training config (`DATA.*`, `AUG.*`). */
export interface TransformSettings {
  /** `DATA.IMG_SIZE`. */
  readonly size: number;
  /** Probability of the horizontal flip: timm's `hflip`, 0.5 in the official transform (no config key sets it). */
  readonly hflip: number;
  /** `DATA.INTERPOLATION`: bicubic, bilinear or random. */
  readonly interpolation: Resample | 'random';
  /** `AUG.AUTO_AUGMENT`, parsed; null for `none`. */
  readonly randAugment: RandAugmentPolicy | null;
  /** `AUG.COLOR_JITTER` (brightness, contrast and saturation), used only without auto-augment; 0 is off. */
  readonly colorJitter: number;
  /** `AUG.REPROB`. */
  readonly reProb: number;
  /** `AUG.RECOUNT`. */
  readonly reCount: number;
  /** `TEST.CROP`. */
  readonly testCrop: boolean;
  /**
   * False turns the training transform into the evaluation one (no crop, flip or colour draws): a
   * linear probe whose inputs, and so whose frozen features, are the same every epoch. Default true.
   */
  readonly augment?: boolean;
}

/** timm's `img_mean` fill for the affine ops: round(255 × mean). */
const FILL = IMAGENET_MEAN.map((m) => Math.min(255, roundHalfEven(255 * m))) as unknown as readonly [number, number, number];

const resampleOf = (interp: Resample | 'random', u: () => number): Resample =>
  interp === 'random' ? (u() < 0.5 ? 'bilinear' : 'bicubic') : interp;

/** The crop box (left, top, width, height) of timm's `RandomResizedCropAndInterpolation.get_params`. */
export function randomResizedCropBox(
  w: number,
  h: number,
  u: () => number,
  scale: readonly [number, number] = [0.08, 1],
  ratio: readonly [number, number] = [3 / 4, 4 / 3],
): [number, number, number, number] {
  const area = w * h;
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = uniformIn(u, scale[0], scale[1]) * area;
    const aspect = Math.exp(uniformIn(u, Math.log(ratio[0]), Math.log(ratio[1])));
    const cw = roundHalfEven(Math.sqrt(target * aspect));
    const ch = roundHalfEven(Math.sqrt(target / aspect));
    if (cw >= 1 && ch >= 1 && cw <= w && ch <= h) {
      const top = randint(u, 0, h - ch);
      const left = randint(u, 0, w - cw);
      return [left, top, cw, ch];
    }
  }
  const inRatio = w / h;
  let cw = w;
  let ch = h;
  if (inRatio < Math.min(...ratio)) ch = roundHalfEven(cw / Math.min(...ratio));
  else if (inRatio > Math.max(...ratio)) cw = roundHalfEven(ch * Math.max(...ratio));
  return [Math.floor((w - cw) / 2), Math.floor((h - ch) / 2), cw, ch];
}

/** RandomResizedCrop to size × size. */
export function randomResizedCrop(img: RgbImage, size: number, interp: Resample | 'random', u: () => number): RgbImage {
  const [left, top, cw, ch] = randomResizedCropBox(img.width, img.height, u);
  const resample = resampleOf(interp, u);
  return resizeImage(crop(img, left, top, cw, ch), size, size, resample);
}

/** torchvision `RandomCrop(size, padding=4)`: a black 4 px border, then a random size × size window. */
export function randomCropPadded(img: RgbImage, size: number, u: () => number, source: string): RgbImage {
  const padded = padBlack(img, 4);
  if (padded.width < size || padded.height < size) {
    throw new FlattenError(
      'input',
      `${source}: ${img.width}×${img.height} is too small for RandomCrop(${size}, padding=4); images of DATA.IMG_SIZE ≤ 32 are used as they are, so they must be at least ${size - 8} px`,
    );
  }
  const top = randint(u, 0, padded.height - size);
  const left = randint(u, 0, padded.width - size);
  return crop(padded, left, top, size, size);
}

/** torchvision `ColorJitter(b, c, s)`: the three factors drawn, then applied in a random order. */
export function colorJitter(img: RgbImage, strength: number, u: () => number): RgbImage {
  const factor = () => uniformIn(u, Math.max(0, 1 - strength), 1 + strength);
  const steps = [
    (i: RgbImage, f: number) => enhanceBrightness(i, f),
    (i: RgbImage, f: number) => enhanceContrast(i, f),
    (i: RgbImage, f: number) => enhanceColor(i, f),
  ];
  const factors = steps.map(factor);
  const order = [0, 1, 2, 3];
  for (let i = 3; i > 0; i--) {
    const j = Math.floor(u() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  let out = img;
  for (const k of order) if (k < 3) out = steps[k](out, factors[k]);
  return out;
}

/**
 * timm `RandomErasing(p, mode='pixel', max_count)` on one normalised (3, H, W) image, in place: with
 * probability p, up to `count` boxes of 2–33% of the area (aspect 0.3–3.3) filled with N(0, 1) noise.
 */
export function randomErasing(x: Float32Array, h: number, w: number, prob: number, maxCount: number, u: () => number): void {
  if (u() > prob) return;
  const count = maxCount <= 1 ? 1 : randint(u, 1, maxCount);
  const area = h * w;
  for (let n = 0; n < count; n++) {
    for (let attempt = 0; attempt < 10; attempt++) {
      const target = (uniformIn(u, 0.02, 1 / 3) * area) / count;
      const aspect = Math.exp(uniformIn(u, Math.log(0.3), Math.log(1 / 0.3)));
      const eh = roundHalfEven(Math.sqrt(target * aspect));
      const ew = roundHalfEven(Math.sqrt(target / aspect));
      if (ew < w && eh < h) {
        const top = randint(u, 0, h - eh);
        const left = randint(u, 0, w - ew);
        for (let c = 0; c < 3; c++)
          for (let y = top; y < top + eh; y++) for (let xx = left; xx < left + ew; xx++) x[(c * h + y) * w + xx] = normal(u);
        break;
      }
    }
  }
}

/**
 * The official training transform of one decoded image: (3, size, size) float32, normalised.
 *
 * @example
 * ```ts
 * const x = trainTransform(decodeImage(bytes), settings, new Random(seed).uniform, 'cat.jpg');
 * ```
 */
export function trainTransform(img: RgbImage, s: TransformSettings, u: () => number, source: string): Float32Array {
  if (s.augment === false) return valTransform(img, s, source);
  let out = s.size > 32 ? randomResizedCrop(img, s.size, s.interpolation, u) : randomCropPadded(img, s.size, u, source);
  if (s.hflip > 0 && u() < s.hflip) out = flipLeftRight(out);
  if (s.randAugment) {
    const ctx: AugmentContext = { u, fill: FILL, resample: s.interpolation };
    out = randAugment(out, s.randAugment, ctx);
  } else if (s.colorJitter > 0) {
    out = colorJitter(out, s.colorJitter, u);
  }
  const x = toNormalizedTensor(out).data;
  if (s.reProb > 0) randomErasing(x, s.size, s.size, s.reProb, s.reCount, u);
  return x;
}

/**
 * The official evaluation transform of one decoded image: (3, size, size) float32, normalised.
 *
 * @example
 * ```ts
 * const x = valTransform(decodeImage(bytes), settings, 'cat.jpg');
 * ```
 */
export function valTransform(img: RgbImage, s: TransformSettings, source: string): Float32Array {
  // timm's _pil_interp maps 'random' to bilinear at evaluation
  const resample = s.interpolation === 'random' ? 'bilinear' : s.interpolation;
  return toNormalizedTensor(evalImage(img, { size: s.size, crop: s.testCrop, resample, source })).data;
}
