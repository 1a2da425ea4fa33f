/**
 * One sample of an ImageFolder read from its file and turned into a model input (sample.ts). Workers
 * and the main thread both call this, so a run draws the same augmentations whichever does.
 */
import { readRegularFile } from '../io/regular_file.js';
import { MAX_IMAGE_FILE_BYTES } from '../preprocess/image.js';
import { FlattenError } from '../util/errors.js';
import { sampleFromBytes, type SampleJob, type SampleResult } from './sample.js';
import type { TransformSettings } from './transforms.js';

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
  return sampleFromBytes(bytes, job, s);
}
