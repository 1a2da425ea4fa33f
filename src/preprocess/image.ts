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

/** Largest image accepted, in pixels (PIL's default decompression-bomb limit is 89,478,485 × 2). */
export const MAX_PIXELS = 178_956_970;
