import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyImages } from '../../src/classify/classify.js';
import { topK } from '../../src/classify/topk.js';
import { readNpy } from '../../src/io/npy.js';
import { FlattenModel } from '../../src/model.js';
import { decodeImage } from '../../src/preprocess/decode.js';
import { fixture } from '../helpers/fixtures.js';

let model: FlattenModel;
beforeAll(async () => {
  model = await FlattenModel.load(fixture('swin_mini', 'config.json'), fixture('swin_mini', 'checkpoint.pth'), { threads: 1 });
});
afterAll(() => model.dispose());

describe('classifyImages', () => {
  it('gives the top-5 that predict gives on the reference tensor of the image', async () => {
    for (const [image, ref] of [
      ['chelsea.png', 'chelsea.crop224.npy'],
      ['rocket.jpg', 'rocket.crop224.npy'],
    ]) {
      const [r] = await classifyImages(model, [fixture('images', image)]);
      const { logits } = await model.predict(readNpy(fixture('images', ref)));
      expect('top' in r && r.top.map((t) => t.index)).toEqual(topK(logits.data, 5).map((t) => t.index));
      expect('top' in r && r.top[0].score).toBeCloseTo(topK(logits.data, 1)[0].score, 6);
    }
  });

  it('takes paths, encoded bytes and raw RGBA pixels alike, and reports unreadable inputs', async () => {
    const path = fixture('images', 'chelsea.png');
    const bytes = readFileSync(path);
    const rgb = decodeImage(bytes);
    const rgba = new Uint8ClampedArray(rgb.width * rgb.height * 4);
    for (let i = 0; i < rgb.width * rgb.height; i++) rgba.set([rgb.data[i * 3], rgb.data[i * 3 + 1], rgb.data[i * 3 + 2], 7], i * 4);
    const results = await classifyImages(
      model,
      [
        path,
        bytes,
        bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length),
        { data: rgba, width: rgb.width, height: rgb.height },
        '/no/such.jpg',
      ],
      {
        top: 3,
        batch: 2,
      },
    );
    const tops = results.slice(0, 4).map((r) => ('top' in r ? r.top : null));
    for (const t of tops) expect(t).toEqual(tops[0]);
    expect(tops[0]).toHaveLength(3);
    expect(results[4]).toEqual({ file: '/no/such.jpg', error: '/no/such.jpg: no such file' });
  });

  it('labels 1000-class outputs with ImageNet names', () => {
    const logits = new Float32Array(1000);
    logits[281] = 5;
    expect(topK(logits, 1)[0]).toMatchObject({ index: 281, label: 'tabby, tabby cat' });
  });
});
