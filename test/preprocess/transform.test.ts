import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readNpy } from '../../src/io/npy.js';
import { decodeImage } from '../../src/preprocess/decode.js';
import { centerCrop, evalTransform } from '../../src/preprocess/transform.js';
import { fixture } from '../helpers/fixtures.js';

const STEP = 1 / 255 / 0.225;

describe('the official evaluation transform', () => {
  it.each([
    ['chelsea.png', 'chelsea.crop224.npy', { size: 224 }],
    ['chelsea.png', 'chelsea.resize384.npy', { size: 384, crop: false }],
    ['rocket.jpg', 'rocket.crop224.npy', { size: 224 }],
    ['rocket.jpg', 'rocket.resize384.npy', { size: 384, crop: false }],
  ])('%s → %s matches torchvision + Pillow', (image, npy, opts) => {
    const x = evalTransform(decodeImage(readFileSync(fixture('images', image)), image), opts);
    const ref = readNpy(fixture('images', npy));
    expect(x.shape).toEqual(ref.shape);
    let max = 0;
    let sum = 0;
    for (let i = 0; i < ref.data.length; i++) {
      const d = Math.abs(x.data[i] - ref.data[i]);
      max = Math.max(max, d);
      sum += d;
    }
    console.log(
      `[conformance] preprocess ${image} → ${npy}: max|diff| ${max.toExponential(2)} (${(max / STEP).toFixed(2)} uint8 steps), mean ${(sum / ref.data.length).toExponential(2)}`,
    );
    expect(max).toBeLessThanOrEqual(STEP * (image.endsWith('.png') ? 1 : 2));
    expect(sum / ref.data.length).toBeLessThanOrEqual(image.endsWith('.png') ? 1e-4 : 2e-3);
  });

  it("center-crops with Python's round-half-to-even offsets", () => {
    const img = { width: 5, height: 5, data: Uint8Array.from({ length: 75 }, (_, i) => Math.floor(i / 3)) };
    const c = centerCrop(img, 2);
    // round(1.5) = 2 in Python: the crop starts at row 2, column 2
    expect(Array.from(c.data.filter((_, i) => i % 3 === 0))).toEqual([12, 13, 17, 18]);
  });

  it("takes a 32-pixel model's images as they are, as data/build.py does at IMG_SIZE ≤ 32, and names any other size", () => {
    const img = { width: 32, height: 32, data: Uint8Array.from({ length: 32 * 32 * 3 }, (_, i) => i % 251) };
    const x = evalTransform(img, { size: 32 });
    expect(x.shape).toEqual([1, 3, 32, 32]);
    // ToTensor and Normalize only: pixel 0's red channel
    expect(x.data[0]).toBeCloseTo((0 / 255 - 0.485) / 0.229, 6);
    expect(x.data[1]).toBeCloseTo((3 / 255 - 0.485) / 0.229, 6);
    const wide = { width: 40, height: 32, data: new Uint8Array(40 * 32 * 3) };
    expect(() => evalTransform(wide, { size: 32, source: 'd.png' })).toThrow(
      /^d\.png: 40×32, but a 32-pixel model evaluates images as they are .*expected 32×32$/,
    );
  });
});
