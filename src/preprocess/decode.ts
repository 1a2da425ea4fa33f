/**
 * Image files to RGB: detects the format from the bytes (not the file name), decodes PNG and JPEG as
 * PIL does, and optionally applies the EXIF orientation.
 */
import { FlattenError } from '../util/errors.js';
import type { RgbImage } from './image.js';
import { decodeJpeg } from './jpeg.js';
import { applyOrientation } from './orientation.js';
import { decodePng, isPng } from './png.js';

/** Options of {@link decodeImage}. */
export interface DecodeOptions {
  /** Turn the image upright according to its EXIF orientation (the official pipeline does not). */
  exifOrientation?: boolean;
  /** Largest image accepted, in pixels. */
  maxPixels?: number;
}

/**
 * Decodes PNG or JPEG bytes to 8-bit RGB, exactly as `PIL.Image.open(f).convert('RGB')`.
 *
 * @example
 * ```ts
 * const image = decodeImage(readFileSync('chelsea.png'), 'chelsea.png');
 * ```
 */
export function decodeImage(bytes: Uint8Array, source = '<image>', opts: DecodeOptions = {}): RgbImage {
  let image: RgbImage;
  let orientation: number;
  if (isPng(bytes)) ({ image, orientation } = decodePng(bytes, source, opts.maxPixels));
  else if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) {
    const r = decodeJpeg(bytes, source, opts.maxPixels);
    image = r.image;
    orientation = r.info.orientation;
  } else {
    const what =
      bytes.length === 0
        ? 'is empty'
        : /^(GIF8|BM|RIFF)/.test(String.fromCharCode(...bytes.subarray(0, 4)))
          ? 'is a GIF, BMP or WebP file'
          : 'is not an image';
    throw new FlattenError('image', `${source}: ${what}; expected a PNG or JPEG file`);
  }
  return opts.exifOrientation ? applyOrientation(image, orientation) : image;
}
