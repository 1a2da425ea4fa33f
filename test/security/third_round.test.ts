/**
 * The third round of hostile inputs through the library (the CLI runs them in `attacks.test.ts`):
 * strings that multiply through the memo, JPEG scans that walk the whole frame, folders with nothing
 * readable, and safetensors headers up to the format's own limit, which must load.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openCheckpoint } from '../../src/checkpoint/open.js';
import { evaluateFolder } from '../../src/classify/evaluate.js';
import { FlattenModel } from '../../src/model.js';
import { decodeImage } from '../../src/preprocess/decode.js';
import { FlattenError } from '../../src/util/errors.js';
import { fixture } from '../helpers/fixtures.js';
import { type Attack, attacks } from './attacks.js';

function made(name: string): { a: Attack; path: string } {
  const a = attacks().find((x) => x.name === name)!;
  const path = join(mkdtempSync(join(tmpdir(), 'flatten-third-')), `input${a.ext}`);
  a.make(path);
  return { a, path };
}

describe('the third hostile round, in the library', () => {
  it.each(['torch.device of a billion laughs', '_codecs.encode of a billion laughs', 'numpy.dtype of a billion laughs'])(
    '%s: one FlattenError, no string built',
    (name) => {
      const { a, path } = made(name);
      const t0 = performance.now();
      expect(() => openCheckpoint(path)).toThrow(FlattenError);
      expect(() => openCheckpoint(path)).toThrow(a.error!);
      expect(performance.now() - t0).toBeLessThan(5000);
    },
  );

  it.each(['a 65535x1365 JPEG with 5,000 empty scans', 'a 65535x1365 JPEG whose 200 scans each skip every block in 90 bytes'])(
    '%s: refused within seconds',
    (name) => {
      const { a, path } = made(name);
      const t0 = performance.now();
      expect(() => decodeImage(readFileSync(path), path)).toThrow(a.error!);
      console.log(`[third] ${name}: ${((performance.now() - t0) / 1000).toFixed(2)} s`);
    },
  );

  it('evaluateFolder over a folder with nothing readable throws instead of an accuracy over no images', async () => {
    const { path } = made('a folder with no readable image');
    const model = await FlattenModel.load(fixture('pvt_mini', 'config.json'), fixture('pvt_mini', 'checkpoint.pth'), { threads: 1 });
    try {
      await expect(evaluateFolder(model, path)).rejects.toThrow(/no readable image among its \d+ file\(s\)/);
    } finally {
      await model.dispose();
    }
  });

  it('a safetensors file with a 99 MB metadata header loads, its weights equal; one byte over the limit is refused', () => {
    const { path } = made('a valid safetensors file with a 99 MB metadata header');
    const t0 = performance.now();
    const mine = openCheckpoint(path);
    const seconds = (performance.now() - t0) / 1000;
    const theirs = openCheckpoint(fixture('pvt_mini', 'checkpoint.pth'));
    expect([...mine.tensors.keys()].sort()).toEqual([...theirs.tensors.keys()].sort());
    for (const [k, t] of theirs.tensors) expect(mine.tensors.get(k)!.read()).toEqual(t.read());
    console.log(`[third] 99 MB safetensors header: opened in ${seconds.toFixed(2)} s, ${mine.tensors.size} tensors equal`);
    mine.close();
    theirs.close();
    expect(() => openCheckpoint(made('a safetensors header one byte over the format limit').path)).toThrow(/HeaderTooLarge/);
  });
});
