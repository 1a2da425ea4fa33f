/**
 * The size a PNG or JPEG declares in its header, read without decoding it: enough to refuse an image
 * over the pixel limit before any of it is decompressed (the training page checks what it is given).
 */
import { isPng } from './png.js';

/**
 * Width and height from a PNG's IHDR or a JPEG's first frame header, or null when the bytes hold
 * neither (or the header is not within them).
 *
 * @example
 * ```ts
 * imageDimensions(new Uint8Array(await file.slice(0, 65536).arrayBuffer())); // { width: 640, height: 480 }
 * ```
 */
export function imageDimensions(b: Uint8Array): { width: number; height: number } | null {
  const u16 = (i: number) => (b[i] << 8) | b[i + 1];
  const u32 = (i: number) => ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
  if (isPng(b)) return b.length >= 24 ? { width: u32(16), height: u32(20) } : null;
  if (b[0] !== 0xff || b[1] !== 0xd8) return null;
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return null;
    const marker = b[i + 1];
    if (marker === 0xff) {
      i++;
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) {
      i += 2;
      continue;
    }
    // start of frame: SOF0…SOF15 but DHT (C4), JPG (C8) and DAC (CC)
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc)
      return { width: u16(i + 7), height: u16(i + 5) };
    i += 2 + u16(i + 2);
  }
  return null;
}
