/**
 * RandAugment as the official training transform applies it (timm `rand_augment_transform` with
 * `AUG.AUTO_AUGMENT`, default `rand-m9-mstd0.5-inc1`): two operations drawn with replacement from the
 * op set, each applied with probability ½ at magnitude m + N(0, mstd) clipped to [0, 10]; the level
 * of each op maps to its argument as timm's `LEVEL_TO_ARG` (signed ops negated half the time). The
 * image operations are Pillow's, reproduced in `preprocess/`.
 */
import { affine, rotate } from '../preprocess/affine.js';
import { enhanceBrightness, enhanceColor, enhanceContrast, enhanceSharpness } from '../preprocess/enhance.js';
import type { RgbImage } from '../preprocess/image.js';
import { autocontrast, equalize, invert, posterize, solarize, solarizeAdd } from '../preprocess/point.js';
import type { Resample } from '../preprocess/resize.js';
import { FlattenError } from '../util/errors.js';
import { normal } from '../util/random.js';

/** A parsed `rand-…` policy string. */
export interface RandAugmentPolicy {
  /** `m`: magnitude, 0–10 (default 10). */
  readonly magnitude: number;
  /** `n`: operations per image (default 2). */
  readonly layers: number;
  /** `mstd`: standard deviation of the magnitude noise (`Infinity` above 100: uniform in [0, m]). */
  readonly magnitudeStd: number;
  /** `mmax`: upper clip of the magnitude (default 10). */
  readonly magnitudeMax: number;
  /** `inc1`: the increasing-severity op variants. */
  readonly increasing: boolean;
  /** `p`: probability of applying each drawn op (default 0.5). */
  readonly prob: number;
}

/** What every op needs beside its level: the random source, the affine ops' fill colour and resampling. */
export interface AugmentContext {
  /** A uniform draw in [0, 1). */
  readonly u: () => number;
  /** `img_mean`: the ImageNet mean as uint8, (124, 116, 104). */
  readonly fill: readonly [number, number, number];
  /** `DATA.INTERPOLATION` for the affine ops; `random` picks bilinear or bicubic per op, as timm does. */
  readonly resample: Resample | 'random';
}

const LEVEL_DENOM = 10;

/**
 * Parses a timm RandAugment string such as `rand-m9-mstd0.5-inc1`.
 *
 * @example
 * ```ts
 * parseRandAugment('rand-m9-mstd0.5-inc1'); // { magnitude: 9, layers: 2, magnitudeStd: 0.5, increasing: true, … }
 * ```
 */
export function parseRandAugment(spec: string): RandAugmentPolicy {
  const parts = spec.split('-');
  if (parts[0] !== 'rand') {
    throw new FlattenError(
      'config',
      `AUG.AUTO_AUGMENT '${spec}': only RandAugment policies (rand-m9-mstd0.5-inc1 and the like) are supported; use 'none' to turn auto-augment off`,
    );
  }
  const p = { magnitude: LEVEL_DENOM, layers: 2, magnitudeStd: 0, magnitudeMax: LEVEL_DENOM, increasing: false, prob: 0.5 };
  for (const part of parts.slice(1)) {
    const m = /^([a-z]+)(\d.*)$/.exec(part);
    const value = m ? Number(m[2]) : NaN;
    if (!m || !Number.isFinite(value)) throw new FlattenError('config', `AUG.AUTO_AUGMENT '${spec}': cannot read '${part}'`);
    if (m[1] === 'm') p.magnitude = value;
    else if (m[1] === 'n') p.layers = value;
    else if (m[1] === 'mstd') p.magnitudeStd = value > 100 ? Infinity : value;
    else if (m[1] === 'mmax') p.magnitudeMax = value;
    else if (m[1] === 'inc') p.increasing = value !== 0;
    else if (m[1] === 'p') p.prob = value;
    else throw new FlattenError('config', `AUG.AUTO_AUGMENT '${spec}': unknown section '${part}' (expected m, n, mstd, mmax, inc or p)`);
  }
  return p;
}

/** timm's `_randomly_negate`. */
const negate = (ctx: AugmentContext, v: number) => (ctx.u() > 0.5 ? -v : v);
/** timm's `_interpolation`: the configured filter, or a random one of bilinear and bicubic. */
const resampleOf = (ctx: AugmentContext): Resample => (ctx.resample === 'random' ? (ctx.u() < 0.5 ? 'bilinear' : 'bicubic') : ctx.resample);

/** `ImageEnhance` factor of the `…Increasing` ops: 1 ± 0.9·level/10. */
const increasingFactor = (ctx: AugmentContext, level: number) => Math.max(0.1, 1 + negate(ctx, (level / LEVEL_DENOM) * 0.9));
/** `ImageEnhance` factor of the plain ops: 0.1 … 1.9. */
const plainFactor = (level: number) => (level / LEVEL_DENOM) * 1.8 + 0.1;
const posterizeBits = (level: number) => Math.trunc((level / LEVEL_DENOM) * 4);
const solarizeThreshold = (level: number) => Math.min(256, Math.trunc((level / LEVEL_DENOM) * 256));

type Op = (img: RgbImage, level: number, ctx: AugmentContext) => RgbImage;

/** Shear, translate: `img.transform(size, AFFINE, matrix)` with the op's fill and resampling. */
const warp = (img: RgbImage, ctx: AugmentContext, m: readonly [number, number, number, number, number, number]) =>
  affine(img, m, resampleOf(ctx), ctx.fill);

/** Every op by timm's name: its level → argument rule and its Pillow operation. */
const OPS: Record<string, Op> = {
  AutoContrast: (img) => autocontrast(img),
  Equalize: (img) => equalize(img),
  Invert: (img) => invert(img),
  Rotate: (img, level, ctx) => {
    const degrees = negate(ctx, (level / LEVEL_DENOM) * 30);
    return rotate(img, degrees, resampleOf(ctx), ctx.fill);
  },
  Posterize: (img, level) => {
    const bits = posterizeBits(level);
    return bits >= 8 ? img : posterize(img, bits);
  },
  PosterizeIncreasing: (img, level) => posterize(img, 4 - posterizeBits(level)),
  Solarize: (img, level) => solarize(img, solarizeThreshold(level)),
  SolarizeIncreasing: (img, level) => solarize(img, 256 - solarizeThreshold(level)),
  SolarizeAdd: (img, level) => solarizeAdd(img, Math.min(128, Math.trunc((level / LEVEL_DENOM) * 110))),
  Color: (img, level) => enhanceColor(img, plainFactor(level)),
  ColorIncreasing: (img, level, ctx) => enhanceColor(img, increasingFactor(ctx, level)),
  Contrast: (img, level) => enhanceContrast(img, plainFactor(level)),
  ContrastIncreasing: (img, level, ctx) => enhanceContrast(img, increasingFactor(ctx, level)),
  Brightness: (img, level) => enhanceBrightness(img, plainFactor(level)),
  BrightnessIncreasing: (img, level, ctx) => enhanceBrightness(img, increasingFactor(ctx, level)),
  Sharpness: (img, level) => enhanceSharpness(img, plainFactor(level)),
  SharpnessIncreasing: (img, level, ctx) => enhanceSharpness(img, increasingFactor(ctx, level)),
  ShearX: (img, level, ctx) => warp(img, ctx, [1, negate(ctx, (level / LEVEL_DENOM) * 0.3), 0, 0, 1, 0]),
  ShearY: (img, level, ctx) => warp(img, ctx, [1, 0, 0, negate(ctx, (level / LEVEL_DENOM) * 0.3), 1, 0]),
  TranslateXRel: (img, level, ctx) => warp(img, ctx, [1, 0, negate(ctx, (level / LEVEL_DENOM) * 0.45) * img.width, 0, 1, 0]),
  TranslateYRel: (img, level, ctx) => warp(img, ctx, [1, 0, 0, 0, 1, negate(ctx, (level / LEVEL_DENOM) * 0.45) * img.height]),
};

/** timm's `_RAND_TRANSFORMS` and `_RAND_INCREASING_TRANSFORMS`. */
const SHARED = ['AutoContrast', 'Equalize', 'Invert', 'Rotate'];
const GEOMETRIC = ['ShearX', 'ShearY', 'TranslateXRel', 'TranslateYRel'];
export const RAND_TRANSFORMS = [
  ...SHARED,
  'Posterize',
  'Solarize',
  'SolarizeAdd',
  'Color',
  'Contrast',
  'Brightness',
  'Sharpness',
  ...GEOMETRIC,
];
export const RAND_INCREASING_TRANSFORMS = [
  ...SHARED,
  'PosterizeIncreasing',
  'SolarizeIncreasing',
  'SolarizeAdd',
  'ColorIncreasing',
  'ContrastIncreasing',
  'BrightnessIncreasing',
  'SharpnessIncreasing',
  ...GEOMETRIC,
];

/**
 * Applies one op by timm's name at a given level (0–10), drawing its sign and resampling from `ctx`.
 *
 * @example
 * ```ts
 * const out = applyOp(img, 'Rotate', 9, { u: Math.random, fill: [124, 116, 104], resample: 'bicubic' });
 * ```
 */
export function applyOp(img: RgbImage, name: string, level: number, ctx: AugmentContext): RgbImage {
  const op = OPS[name];
  if (!op) throw new FlattenError('config', `RandAugment has no op '${name}'`);
  return op(img, level, ctx);
}

/**
 * One RandAugment pass: `layers` ops drawn with replacement, each applied with probability `prob`.
 *
 * @example
 * ```ts
 * const out = randAugment(img, parseRandAugment('rand-m9-mstd0.5-inc1'), ctx);
 * ```
 */
export function randAugment(img: RgbImage, policy: RandAugmentPolicy, ctx: AugmentContext): RgbImage {
  const names = policy.increasing ? RAND_INCREASING_TRANSFORMS : RAND_TRANSFORMS;
  const chosen = Array.from({ length: policy.layers }, () => names[Math.floor(ctx.u() * names.length)]);
  let out = img;
  for (const name of chosen) {
    if (policy.prob < 1 && ctx.u() > policy.prob) continue;
    let m = policy.magnitude;
    if (policy.magnitudeStd === Infinity) m = ctx.u() * m;
    else if (policy.magnitudeStd > 0) m = m + policy.magnitudeStd * normal(ctx.u);
    m = Math.max(0, Math.min(m, policy.magnitudeMax));
    out = applyOp(out, name, m, ctx);
  }
  return out;
}
