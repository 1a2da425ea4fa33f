/**
 * The official evaluation transform (`data/build.py`, SPEC.md §7), reproduced exactly: a square
 * bicubic resize to 256/224 × size (ignoring the aspect ratio), a center crop to size, `ToTensor` and
 * the ImageNet normalisation, all in float32 as torchvision computes them. 384 models resize straight
 * to the input size without a crop. Models of 32 pixels or less take images as they are
 * (`resize_im = IMG_SIZE > 32`).
 */
import type { Tensor } from '../tensor.js';
import { FlattenError } from '../util/errors.js';
import type { RgbImage } from './image.js';
import { crop } from './geometry.js';
import { type Resample, resizeImage } from './resize.js';
import { roundHalfEven } from '../util/random.js';

/** ImageNet mean and std (timm's IMAGENET_DEFAULT_MEAN / _STD). */
export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

/** Options of {@link evalTransform}. */
export interface TransformOptions {
  /** The model's input size (224 or 384 for the released models). */
  size: number;
  /** Center-crop after resizing to 256/224 × size (the official `TEST.CROP`); default true. */
  crop?: boolean;
  /** The resize filter (`DATA.INTERPOLATION`); default bicubic, as every official config. */
  resample?: Resample;
  /** Names the image in errors. */
  source?: string;
}

/** torchvision `CenterCrop(size)` on an image at least that large. */
export function centerCrop(img: RgbImage, size: number): RgbImage {
  return crop(img, roundHalfEven((img.width - size) / 2), roundHalfEven((img.height - size) / 2), size, size);
}

/** `ToTensor` + `Normalize`: HWC uint8 → (1, 3, H, W) float32. */
export function toNormalizedTensor(img: RgbImage): Tensor {
  const { width: w, height: h } = img;
  const out = new Float32Array(3 * w * h);
  for (let c = 0; c < 3; c++) {
    const mean = Math.fround(IMAGENET_MEAN[c]);
    const std = Math.fround(IMAGENET_STD[c]);
    const lut = new Float32Array(256);
    for (let v = 0; v < 256; v++) lut[v] = Math.fround(Math.fround(Math.fround(v / 255) - mean) / std);
    for (let i = 0; i < w * h; i++) out[c * w * h + i] = lut[img.data[i * 3 + c]];
  }
  return { shape: [1, 3, h, w], data: out };
}

/**
 * The official evaluation transform: the exact model input for one image.
 *
 * @example
 * ```ts
 * const x = evalTransform(decodeImage(bytes), { size: 224 }); // (1, 3, 224, 224)
 * ```
 */
export function evalTransform(img: RgbImage, opts: TransformOptions): Tensor {
  return toNormalizedTensor(evalImage(img, opts));
}

/**
 * The resize and crop of the evaluation transform, before `ToTensor`: the picture the model sees (the
 * demo draws attention over it).
 *
 * @example
 * ```ts
 * const seen = evalImage(decodeImage(bytes), { size: 224 }); // 224×224 RGB
 * ```
 */
export function evalImage(img: RgbImage, opts: TransformOptions): RgbImage {
  if (opts.size <= 32) {
    if (img.width === opts.size && img.height === opts.size) return img;
    throw new FlattenError(
      'input',
      `${opts.source ?? 'image'}: ${img.width}×${img.height}, but a ${opts.size}-pixel model evaluates images as they are (the official transform resizes only above 32 pixels); expected ${opts.size}×${opts.size}`,
    );
  }
  if (opts.crop === false) return resizeImage(img, opts.size, opts.size, opts.resample, opts.source);
  const resized = Math.trunc((256 / 224) * opts.size);
  return centerCrop(resizeImage(img, resized, resized, opts.resample, opts.source), opts.size);
}
