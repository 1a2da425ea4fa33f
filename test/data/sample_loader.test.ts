import { mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listImageFolder, type Sample } from '../../src/classify/dataset.js';
import { epochOrder, type LabeledBatch, type SampleLoader } from '../../src/data/sample_loader.js';
import { fileSampleLoader } from '../../src/data/worker_pool.js';
import { makeImageFolder, officialTransform } from '../helpers/image_folder.js';

const SETTINGS = officialTransform(40);

let root: string;
let samples: Sample[];
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'flatten-loader-'));
  makeImageFolder(root, 'train', ['a', 'b', 'c'], 5, 48);
  writeFileSync(join(root, 'train', 'b', '9-broken.png'), 'not a png');
  samples = listImageFolder(join(root, 'train')).samples;
});

async function collect(it: AsyncIterable<LabeledBatch>): Promise<LabeledBatch[]> {
  const out: LabeledBatch[] = [];
  for await (const b of it) out.push(b);
  return out;
}

describe('the ImageFolder loader', () => {
  const loaders: SampleLoader[] = [];
  const make = (workers: number, onSkip?: (r: string) => void) => {
    const l = fileSampleLoader({ settings: SETTINGS, workers, ...(onSkip ? { onSkip } : {}) });
    loaders.push(l);
    return l;
  };
  afterAll(async () => {
    for (const l of loaders) await l.close();
  });

  it('shuffles every epoch from the seed: a permutation, the same for the same (seed, epoch), another for the next epoch', () => {
    const a = Array.from(epochOrder(50, 7, 0));
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(Array.from(epochOrder(50, 7, 0))).toEqual(a);
    expect(Array.from(epochOrder(50, 7, 1))).not.toEqual(a);
    expect(Array.from(epochOrder(50, 8, 0))).not.toEqual(a);
  });

  it('gives the same batches on worker threads as on the main thread, skips the unreadable image once, drops the last partial batch', async () => {
    const skipped: string[] = [];
    const inline = await collect(make(0, (r) => skipped.push(r)).trainEpoch(samples, { batch: 4, seed: 3, epoch: 1 }));
    const threaded = await collect(make(2).trainEpoch(samples, { batch: 4, seed: 3, epoch: 1 }));
    // 16 files, one unreadable: 15 images → 3 full batches of 4, 3 left over
    expect(inline).toHaveLength(3);
    expect(skipped).toHaveLength(1);
    expect(skipped[0]).toMatch(/9-broken\.png: .*PNG or JPEG/);
    expect(threaded.map((b) => Array.from(b.labels))).toEqual(inline.map((b) => Array.from(b.labels)));
    threaded.forEach((b, i) => expect(b.x.data).toEqual(inline[i].x.data));
    expect(inline[0].x.shape).toEqual([4, 3, 40, 40]);
  });

  it('skips what is not a regular file (a link to /dev/zero) without reading it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flatten-loader-dev-'));
    makeImageFolder(dir, 'train', ['a'], 2, 48);
    symlinkSync('/dev/zero', join(dir, 'train', 'a', 'zero.png'));
    const skipped: string[] = [];
    const batches = await collect(make(0, (r) => skipped.push(r)).valEpoch(listImageFolder(join(dir, 'train')).samples, 4));
    expect(batches.map((b) => b.labels.length)).toEqual([2]);
    expect(skipped).toEqual([expect.stringMatching(/zero\.png: is not a regular file/)]);
  });

  it('resumes inside an epoch with exactly the batches the whole epoch would have given', async () => {
    const readable = samples.filter((s) => !s.path.includes('broken'));
    const loader = make(1);
    const whole = await collect(loader.trainEpoch(readable, { batch: 3, seed: 11, epoch: 2 }));
    const tail = await collect(loader.trainEpoch(readable, { batch: 3, seed: 11, epoch: 2, startStep: 3 }));
    expect(tail).toHaveLength(whole.length - 3);
    tail.forEach((b, i) => expect(b.x.data).toEqual(whole[i + 3].x.data));
  });

  it('validation keeps every image in folder order, the last batch smaller', async () => {
    const readable = samples.filter((s) => !s.path.includes('broken'));
    const val = await collect(make(1).valEpoch(readable, 4));
    expect(val.map((b) => b.labels.length)).toEqual([4, 4, 4, 3]);
    expect(val.flatMap((b) => Array.from(b.labels))).toEqual(readable.map((s) => s.target));
  });
});
