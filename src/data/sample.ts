/**
 * One sample of an image dataset turned into a model input: bytes decoded (PNG or JPEG, as PIL), then
 * the training transform (with its own seeded random stream) or the evaluation transform. Node's data
 * workers and the browser's trainer both call this, so a run draws the same augmentations wherever
 * its images are decoded.
 */
import { decodeImage } from '../preprocess/decode.js';
import { FlattenError } from '../util/errors.js';
import { Random } from '../util/random.js';
import { trainTransform, type TransformSettings, valTransform } from './transforms.js';

/** torchvision's `IMG_EXTENSIONS`: the files an ImageFolder keeps. */
export const IMG_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif', '.tiff', '.webp'];

/** Whether a file name has one of torchvision's `IMG_EXTENSIONS` (`.jpg`, `.png`, …). */
export const isImageName = (name: string): boolean => IMG_EXTENSIONS.some((e) => name.toLowerCase().endsWith(e));

/**
 * Orders paths below one class folder as torchvision's ImageFolder walks it (`os.walk`, sorted):
 * folders by path, then the files of each folder by name.
 *
 * @example
 * ```ts
 * walkOrder(['b.png', 'sub/a.png', 'a.png']); // ['a.png', 'b.png', 'sub/a.png']
 * ```
 */
export function walkOrder(paths: readonly string[]): string[] {
  const split = paths.map((p) => {
    const i = p.lastIndexOf('/');
    return { p, dir: i < 0 ? '' : p.slice(0, i), file: p.slice(i + 1) };
  });
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return split.sort((a, b) => cmp(a.dir, b.dir) || cmp(a.file, b.file)).map((x) => x.p);
}

/** One labelled image: its file path (or the key of an image held in memory) and class index. */
export interface Sample {
  path: string;
  target: number;
}

/** A request: which sample (a file path, or the key of an image held in memory), which transform, which random stream. */
export interface SampleJob {
  readonly path: string;
  readonly train: boolean;
  readonly seed: number;
}

/** The outcome: the (3, size, size) input, or why the sample could not be used. */
export type SampleResult = { ok: true; x: Float32Array } | { ok: false; reason: string };

/**
 * Decodes and transforms one sample's bytes; an undecodable image gives `{ ok: false }` rather than an
 * exception.
 *
 * @example
 * ```ts
 * const r = sampleFromBytes(bytes, { path: 'cat/1.jpg', train: true, seed: 7 }, settings);
 * ```
 */
export function sampleFromBytes(bytes: Uint8Array, job: SampleJob, s: TransformSettings): SampleResult {
  try {
    const img = decodeImage(bytes, job.path);
    const x = job.train ? trainTransform(img, s, new Random(job.seed).uniform, job.path) : valTransform(img, s, job.path);
    return { ok: true, x };
  } catch (e) {
    if (e instanceof FlattenError && e.code === 'image') return { ok: false, reason: e.message };
    throw e;
  }
}
