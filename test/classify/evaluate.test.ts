import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { stack } from '../../src/classify/classify.js';
import { listImageFolder } from '../../src/classify/dataset.js';
import { evaluateFolder } from '../../src/classify/evaluate.js';
import { FlattenModel } from '../../src/model.js';
import { decodeImage } from '../../src/preprocess/decode.js';
import { evalTransform } from '../../src/preprocess/transform.js';
import { fixture } from '../helpers/fixtures.js';

/** A 10-class ImageFolder of noise images and the fixture photos, plus one broken file. */
function makeFolder(): { dir: string; files: { path: string; target: number }[] } {
  const dir = mkdtempSync(join(tmpdir(), 'flatten-imagefolder-'));
  const files: { path: string; target: number }[] = [];
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % 256;
  for (let c = 0; c < 10; c++) {
    const cls = join(dir, `n0${c}_class`, c % 3 === 0 ? 'nested' : '');
    mkdirSync(cls, { recursive: true });
    for (let k = 0; k < 2; k++) {
      const png = new PNG({ width: 40 + c, height: 30 + k });
      for (let i = 0; i < png.data.length; i++) png.data[i] = rnd();
      const p = join(cls, `img${k}.png`);
      writeFileSync(p, PNG.sync.write(png));
      files.push({ path: p, target: c });
    }
  }
  copyFileSync(fixture('images', 'rocket.jpg'), join(dir, 'n03_class', 'rocket.JPG'));
  files.push({ path: join(dir, 'n03_class', 'rocket.JPG'), target: 3 });
  writeFileSync(join(dir, 'n05_class', 'broken.jpg'), 'not a jpeg');
  writeFileSync(join(dir, 'n05_class', 'notes.txt'), 'ignored: not an image extension');
  return { dir, files };
}

describe('evaluateFolder', () => {
  it('lists classes and files as torchvision ImageFolder does', () => {
    const { dir } = makeFolder();
    const { classes, samples } = listImageFolder(dir);
    expect(classes).toEqual(Array.from({ length: 10 }, (_, c) => `n0${c}_class`));
    // sorted(os.walk(...)): a class folder's own files come before those of its subfolders
    expect(samples.filter((s) => s.target === 3).map((s) => s.path.slice(dir.length))).toEqual([
      '/n03_class/rocket.JPG',
      '/n03_class/nested/img0.png',
      '/n03_class/nested/img1.png',
    ]);
    expect(samples).toHaveLength(22);
  });

  it('reports the accuracy the test computes itself, skipping the broken file', async () => {
    const { dir, files } = makeFolder();
    const model = await FlattenModel.load(fixture('swin_mini', 'config.json'), fixture('swin_mini', 'checkpoint.pth'), { threads: 1 });
    const skipped: string[] = [];
    const s = await evaluateFolder(model, dir, { batch: 4, onSkip: (p) => skipped.push(p) });
    let c1 = 0;
    let c5 = 0;
    for (const f of files) {
      const { logits } = await model.predict(stack([evalTransform(decodeImage(readFileSync(f.path)), { size: 224 })]));
      const order = Array.from(logits.data.keys()).sort((a, b) => logits.data[b] - logits.data[a]);
      if (order[0] === f.target) c1++;
      if (order.slice(0, 5).includes(f.target)) c5++;
    }
    await model.dispose();
    expect(skipped).toEqual([join(dir, 'n05_class', 'broken.jpg')]);
    expect(s.skipped).toBe(1);
    expect(s.images).toBe(files.length);
    expect(s.top1).toBeCloseTo((100 * c1) / files.length, 9);
    expect(s.top5).toBeCloseTo((100 * c5) / files.length, 9);
    console.log(
      `[eval] generated ImageFolder: top-1 ${s.top1.toFixed(2)}% top-5 ${s.top5.toFixed(2)}% (test's own count: ${c1}/${c5} of ${files.length})`,
    );
  });
});
