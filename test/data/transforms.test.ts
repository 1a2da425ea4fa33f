import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  colorJitter,
  randomCropPadded,
  randomErasing,
  randomResizedCropBox,
  trainTransform,
  valTransform,
} from '../../src/data/transforms.js';
import type { RgbImage } from '../../src/preprocess/image.js';
import { Random } from '../../src/util/random.js';
import { officialTransform } from '../helpers/image_folder.js';

const noise = (w: number, h: number, seed: number): RgbImage => {
  const r = new Random(seed);
  return { width: w, height: h, data: Uint8Array.from({ length: w * h * 3 }, () => Math.floor(r.next() * 256)) };
};

const SETTINGS = officialTransform(48);

describe('RandomResizedCrop', () => {
  it('draws a box inside the image, of 8–100% of its area and aspect 3/4–4/3 (or the central fallback)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 600 }),
        fc.integer({ min: 1, max: 600 }),
        fc.integer({ min: 0, max: 2 ** 30 }),
        (w, h, seed) => {
          const [left, top, cw, ch] = randomResizedCropBox(w, h, new Random(seed).uniform);
          expect(cw).toBeGreaterThanOrEqual(1);
          expect(ch).toBeGreaterThanOrEqual(1);
          expect(left).toBeGreaterThanOrEqual(0);
          expect(top).toBeGreaterThanOrEqual(0);
          expect(left + cw).toBeLessThanOrEqual(w);
          expect(top + ch).toBeLessThanOrEqual(h);
          if (w >= 50 && h >= 50 && w / h < 1.2 && h / w < 1.2) {
            // rounding moves the area and aspect by at most a pixel's worth
            expect((cw + 1) * (ch + 1)).toBeGreaterThanOrEqual(0.08 * w * h);
            expect(cw / ch).toBeGreaterThan(0.7);
            expect(cw / ch).toBeLessThan(1.42);
          }
        },
      ),
    );
  });

  it('falls back to the central crop of the allowed aspect for extreme images', () => {
    // a 1000×10 strip never fits a box of aspect ≤ 4/3 with enough area: torchvision's fallback
    const box = randomResizedCropBox(1000, 10, () => 0.999);
    expect(box).toEqual([Math.floor((1000 - 13) / 2), 0, 13, 10]);
  });
});

describe('the training transform', () => {
  it('is a function of the seed: same seed, same input; another seed, another input', () => {
    const img = noise(70, 50, 1);
    const a = trainTransform(img, SETTINGS, new Random(5).uniform, 'x');
    const b = trainTransform(img, SETTINGS, new Random(5).uniform, 'x');
    const c = trainTransform(img, SETTINGS, new Random(6).uniform, 'x');
    expect(a.length).toBe(3 * 48 * 48);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
  });

  it('at 32 px and below pads by 4 and crops: the image appears shifted by at most 4 pixels', () => {
    const img = noise(28, 28, 2);
    for (let seed = 0; seed < 20; seed++) {
      const out = randomCropPadded(img, 28, new Random(seed).uniform, 'digit.png');
      // find the shift: the source's pixel (10, 10) must sit at (10 - dx, 10 - dy) for some |dx|, |dy| ≤ 4
      let found = false;
      for (let dy = -4; dy <= 4 && !found; dy++)
        for (let dx = -4; dx <= 4 && !found; dx++) {
          let same = true;
          for (let y = 8; y < 20 && same; y++)
            for (let x = 8; x < 20 && same; x++)
              for (let c = 0; c < 3; c++) same &&= out.data[((y - dy) * 28 + x - dx) * 3 + c] === img.data[(y * 28 + x) * 3 + c];
          found = same;
        }
      expect(found).toBe(true);
    }
    expect(() => randomCropPadded(noise(10, 10, 1), 28, new Random(0).uniform, 'tiny.png')).toThrow(/tiny\.png: 10×10 is too small/);
  });

  it('random erasing fills one box with noise and leaves the rest', () => {
    const x = new Float32Array(3 * 20 * 30);
    randomErasing(x, 20, 30, 1, 1, new Random(3).uniform);
    const changed = x.reduce((n, v) => n + (v !== 0 ? 1 : 0), 0);
    expect(changed % 3).toBe(0);
    expect(changed / 3).toBeGreaterThanOrEqual(0.015 * 600);
    expect(changed / 3).toBeLessThanOrEqual(0.34 * 600 + 30);
    const untouched = new Float32Array(600);
    randomErasing(untouched, 10, 20, 0, 1, new Random(3).uniform);
    expect(untouched.every((v) => v === 0)).toBe(true);
  });

  it('colour jitter of strength 0 changes nothing', () => {
    const img = noise(16, 16, 4);
    expect(colorJitter(img, 0, new Random(1).uniform).data).toEqual(img.data);
  });

  it('the evaluation transform at 32 px and below takes images as they are, and says so when they differ', () => {
    const s = { ...SETTINGS, size: 28 };
    expect(valTransform(noise(28, 28, 1), s, 'a.png').length).toBe(3 * 28 * 28);
    expect(() => valTransform(noise(30, 28, 1), s, 'b.png')).toThrow(/b\.png: 30×28.*expected 28×28/);
  });
});
