/**
 * The decoded image type every preprocessing step works on: 8-bit RGB, row-major, interleaved,
 * exactly what PIL's `Image.convert('RGB')` holds.
 */

/** An 8-bit RGB image. `data` has `width * height * 3` bytes. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

import { FlattenError } from '../util/errors.js';

/**
 * Largest image decoded by default, in pixels: PIL's `Image.MAX_IMAGE_PIXELS` (89,478,485), which keeps
 * the worst case (a 4:4:4 JPEG) under about 1 GB of memory. See {@link maxImagePixels} to raise it.
 */
export const MAX_PIXELS = 89_478_485;

/** The environment variable that raises (or lowers) {@link MAX_PIXELS}, as `Image.MAX_IMAGE_PIXELS` does in PIL. */
export const MAX_PIXELS_ENV = 'FLATTEN_VIT_MAX_IMAGE_PIXELS';

/**
 * The pixel limit in force: `FLATTEN_VIT_MAX_IMAGE_PIXELS` when set (in Node), else {@link MAX_PIXELS}.
 * Decoders and resizing refuse larger images with a one-line error before allocating them.
 *
 * @example
 * ```sh
 * FLATTEN_VIT_MAX_IMAGE_PIXELS=200000000 npx flatten-vit classify huge.jpg --arch flatten_swin_t --checkpoint w.pth
 * ```
 */
export function maxImagePixels(): number {
  const text = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[MAX_PIXELS_ENV];
  if (text === undefined || text === '') return MAX_PIXELS;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new FlattenError('usage', `${MAX_PIXELS_ENV} must be a positive whole number of pixels, found '${text}'`);
  }
  return n;
}

/** Largest image file read, in bytes. */
export const MAX_IMAGE_FILE_BYTES = 512 * 2 ** 20;
