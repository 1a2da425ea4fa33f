import { describe, expect, it } from 'vitest';
import { applyOp, parseRandAugment, RAND_INCREASING_TRANSFORMS, randAugment } from '../../src/data/rand_augment.js';
import type { RgbImage } from '../../src/preprocess/image.js';
import { Random } from '../../src/util/random.js';

const img: RgbImage = { width: 12, height: 9, data: Uint8Array.from({ length: 12 * 9 * 3 }, (_, i) => (i * 37) % 256) };
const ctx = (seed: number) => ({ u: new Random(seed).uniform, fill: [124, 116, 104] as const, resample: 'bicubic' as const });

describe('RandAugment', () => {
  it("reads timm's policy strings", () => {
    expect(parseRandAugment('rand-m9-mstd0.5-inc1')).toEqual({
      magnitude: 9,
      layers: 2,
      magnitudeStd: 0.5,
      magnitudeMax: 10,
      increasing: true,
      prob: 0.5,
    });
    expect(parseRandAugment('rand-n3-m7-mstd101-p1')).toMatchObject({ layers: 3, magnitude: 7, magnitudeStd: Infinity, prob: 1 });
    expect(() => parseRandAugment('original-mstd0.5')).toThrow(/only RandAugment policies/);
    expect(() => parseRandAugment('rand-m9-q3')).toThrow(/unknown section 'q3'/);
  });

  it('maps levels to arguments as timm: the increasing ops are strongest at 10 and neutral at 0', () => {
    const black = applyOp(img, 'PosterizeIncreasing', 10, ctx(0));
    expect(black.data.every((v) => v === 0)).toBe(true);
    expect(applyOp(img, 'PosterizeIncreasing', 0, ctx(0)).data).toEqual(img.data.map((v) => v & 0xf0));
    expect(applyOp(img, 'SolarizeIncreasing', 0, ctx(0)).data).toEqual(img.data);
    expect(applyOp(img, 'SolarizeIncreasing', 10, ctx(0)).data).toEqual(img.data.map((v) => 255 - v));
    for (const name of [
      'Rotate',
      'ShearX',
      'ShearY',
      'TranslateXRel',
      'TranslateYRel',
      'ColorIncreasing',
      'ContrastIncreasing',
      'BrightnessIncreasing',
      'SharpnessIncreasing',
    ])
      expect(applyOp(img, name, 0, ctx(1)).data, name).toEqual(img.data);
  });

  it('draws with replacement from the op set; p0 applies nothing and p1 always changes the image', () => {
    expect(RAND_INCREASING_TRANSFORMS).toHaveLength(15);
    const policy = parseRandAugment('rand-m9-mstd0.5-inc1');
    expect(randAugment(img, { ...policy, prob: 0 }, ctx(3)).data).toEqual(img.data);
    let changed = 0;
    for (let s = 0; s < 30; s++) if (randAugment(img, { ...policy, prob: 1 }, ctx(s)).data.some((v, i) => v !== img.data[i])) changed++;
    expect(changed).toBeGreaterThan(25);
    expect(randAugment(img, policy, ctx(9)).data).toEqual(randAugment(img, policy, ctx(9)).data);
  });
});
