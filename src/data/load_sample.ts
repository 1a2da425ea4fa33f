/**
 * One sample of an ImageFolder turned into a model input: the file read and decoded (PNG or JPEG, as
 * PIL), then the training transform (with its own seeded random stream) or the evaluation transform.
 * Workers and the main thread both call this, so a run draws the same augmentations whichever does.
 */
import { readRegularFile } from '../io/regular_file.js';
import { MAX_IMAGE_FILE_BYTES } from '../preprocess/image.js';
import { decodeImage } from '../preprocess/decode.js';
import { FlattenError } from '../util/errors.js';
import { Random } from '../util/random.js';
import { trainTransform, type TransformSettings, valTransform } from './transforms.js';

/** A request: which file, which transform, which random stream. */
export interface SampleJob {
  readonly path: string;
  readonly train: boolean;
  readonly seed: number;
}

/** The outcome: the (3, size, size) input, or why the file could not be used. */
export type SampleResult = { ok: true; x: Float32Array } | { ok: false; reason: string };

/**
 * Loads one sample; an unreadable or undecodable file gives `{ ok: false }` rather than an exception.
 *
 * @example
 * ```ts
 * const r = loadSample({ path: 'data/train/cat/1.jpg', train: true, seed: 7 }, settings);
 * ```
 */
export function loadSample(job: SampleJob, s: TransformSettings): SampleResult {
  let bytes: Uint8Array;
  try {
    bytes = readRegularFile(job.path, MAX_IMAGE_FILE_BYTES, 'an image (PNG or JPEG)');
  } catch (e) {
    if (e instanceof FlattenError) return { ok: false, reason: e.message };
    throw e;
  }
  try {
    const img = decodeImage(bytes, job.path);
    const x = job.train ? trainTransform(img, s, new Random(job.seed).uniform, job.path) : valTransform(img, s, job.path);
    return { ok: true, x };
  } catch (e) {
    if (e instanceof FlattenError && e.code === 'image') return { ok: false, reason: e.message };
    throw e;
  }
}
