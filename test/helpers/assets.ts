/**
 * Test helper: the decoder test images under test/assets and their Pillow reference arrays.
 */
import { join } from 'node:path';
import { FileSource } from '../../src/checkpoint/file_source.js';
import { ZipArchive } from '../../src/checkpoint/zip.js';
import { decodeNpy } from '../../src/io/npy.js';
import { REPO } from './fixtures.js';

export const ASSETS = join(REPO, 'test', 'assets', 'images');

/** Pillow's RGB decoding of each asset, as uint8. */
export function pillowReference(): Map<string, Uint8Array> {
  const zip = new ZipArchive(new FileSource(join(ASSETS, 'reference_rgb.npz')));
  const out = new Map<string, Uint8Array>();
  for (const [name, entry] of zip.entries) out.set(name.replace(/\.npy$/, ''), Uint8Array.from(decodeNpy(zip.read(entry), name).data));
  zip.source.close();
  return out;
}
