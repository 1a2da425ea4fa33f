/**
 * How far the int8 fast mode strays from float32: top-1 agreement and the cosine similarity of the
 * logits, on the fixture photographs (and on seeded random inputs when the fixtures are not found).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CheckpointInput } from '../checkpoint/open.js';
import { stack } from '../classify/classify.js';
import { type ArchitectureSpec, FlattenModel } from '../model.js';
import { decodeImage } from '../preprocess/decode.js';
import { evalTransform } from '../preprocess/transform.js';
import type { Tensor } from '../tensor.js';
import { benchInput } from './throughput.js';

/** Agreement of int8 with fp32. */
export interface Agreement {
  images: number;
  source: 'fixture photographs' | 'random inputs';
  top1_agreement: number;
  min_cosine: number;
}

const PHOTOS = ['chelsea.png', 'rocket.jpg'];

function photos(size: number, imagesDir?: string): { x: Tensor; source: Agreement['source'] } {
  const dirs = [process.env.FLATTEN_FIXTURES, join('..', 'shared', 'fixtures'), join('shared', 'fixtures')].filter(Boolean) as string[];
  const candidates = imagesDir ? [imagesDir] : dirs.map((d) => join(d, 'images'));
  const dir = candidates.find((d) => PHOTOS.every((p) => existsSync(join(d, p))));
  if (!dir) return { x: benchInput(4, [3, size, size]), source: 'random inputs' };
  return {
    x: stack(PHOTOS.map((p) => evalTransform(decodeImage(readFileSync(join(dir, p)), p), { size }))),
    source: 'fixture photographs',
  };
}

/**
 * Compares int8 and fp32 logits of the same weights, on the fixture photographs found in `imagesDir`
 * (default: the fixtures' `images` folder, from FLATTEN_FIXTURES or `../shared/fixtures`).
 */
export async function agreement(
  arch: ArchitectureSpec,
  checkpoint: CheckpointInput | undefined,
  threads?: number,
  imagesDir?: string,
): Promise<Agreement> {
  const load = (precision: 'fp32' | 'int8') =>
    checkpoint !== undefined
      ? FlattenModel.load(arch, checkpoint, { threads, precision })
      : FlattenModel.random(arch, { threads, precision });
  const fp = await load('fp32');
  const q = await load('int8');
  const { x, source } = photos(fp.inputShape[1], imagesDir);
  const a = (await fp.predict(x)).logits;
  const b = (await q.predict(x)).logits;
  await fp.dispose();
  await q.dispose();
  const n = a.shape[1];
  let agree = 0;
  let minCos = 1;
  for (let i = 0; i < a.shape[0]; i++) {
    const ra = a.data.subarray(i * n, (i + 1) * n);
    const rb = b.data.subarray(i * n, (i + 1) * n);
    let dot = 0;
    let na = 0;
    let nb = 0;
    let ia = 0;
    let ib = 0;
    for (let j = 0; j < n; j++) {
      dot += ra[j] * rb[j];
      na += ra[j] * ra[j];
      nb += rb[j] * rb[j];
      if (ra[j] > ra[ia]) ia = j;
      if (rb[j] > rb[ib]) ib = j;
    }
    if (ia === ib) agree++;
    minCos = Math.min(minCos, dot / Math.sqrt(na * nb));
  }
  return { images: a.shape[0], source, top1_agreement: agree / a.shape[0], min_cosine: minCos };
}
