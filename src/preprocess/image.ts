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

/**
 * Largest image decoded by default, in pixels: PIL's `Image.MAX_IMAGE_PIXELS` (89,478,485), which keeps
 * the worst case (a 4:4:4 JPEG) under about 1 GB of memory. Decoders take a larger limit on request.
 */
export const MAX_PIXELS = 89_478_485;

/** Largest image file read, in bytes. */
export const MAX_IMAGE_FILE_BYTES = 512 * 2 ** 20;
