/**
 * Everything a user may hand the classifier as an image: a file path, encoded bytes (Buffer,
 * Uint8Array, ArrayBuffer), or raw RGB/RGBA pixels with their width and height.
 */
import { readRegularFile } from '../io/regular_file.js';
import { FlattenError } from '../util/errors.js';
import { decodeImage, type DecodeOptions } from './decode.js';
import { MAX_IMAGE_FILE_BYTES, type RgbImage } from './image.js';

/** Raw 8-bit pixels, RGB or RGBA interleaved (alpha is dropped, as `convert('RGB')` does). */
export interface RawPixels {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
}

/** An image as a path, encoded PNG/JPEG bytes, or raw pixels. */
export type ImageInput = string | Uint8Array | ArrayBuffer | RawPixels;

/** A name for an input in messages and results. */
export function inputName(input: ImageInput, i: number): string {
  return typeof input === 'string' ? input : `<image ${i}>`;
}

/** Raw RGB or RGBA pixels as an {@link RgbImage}. */
export function fromPixels(p: RawPixels, source = '<pixels>'): RgbImage {
  const n = p.width * p.height;
  if (!Number.isInteger(p.width) || !Number.isInteger(p.height) || p.width < 1 || p.height < 1) {
    throw new FlattenError('image', `${source}: width and height must be positive integers, found ${p.width}x${p.height}`);
  }
  if (p.data.length === n * 3) return { width: p.width, height: p.height, data: Uint8Array.from(p.data) };
  if (p.data.length !== n * 4) {
    throw new FlattenError(
      'image',
      `${source}: ${p.width}x${p.height} pixels need ${n * 3} (RGB) or ${n * 4} (RGBA) bytes, found ${p.data.length}`,
    );
  }
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    out[i * 3] = p.data[i * 4];
    out[i * 3 + 1] = p.data[i * 4 + 1];
    out[i * 3 + 2] = p.data[i * 4 + 2];
  }
  return { width: p.width, height: p.height, data: out };
}

/**
 * Loads any {@link ImageInput} as RGB.
 *
 * @example
 * ```ts
 * const img = loadImage('photo.jpg', 'photo.jpg', { exifOrientation: true });
 * ```
 */
export function loadImage(input: ImageInput, source: string, opts: DecodeOptions = {}): RgbImage {
  if (typeof input === 'string') {
    const bytes = readRegularFile(input, MAX_IMAGE_FILE_BYTES, 'an image (PNG or JPEG)');
    return decodeImage(bytes, input, opts);
  }
  if (input instanceof Uint8Array) return decodeImage(input, source, opts);
  if (input instanceof ArrayBuffer) return decodeImage(new Uint8Array(input), source, opts);
  return fromPixels(input, source);
}
