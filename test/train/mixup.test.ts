import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/models/init.js';
import { betaSample, cutmixBox, mixupBatch, type MixupSettings } from '../../src/train/mixup.js';

const base: MixupSettings = {
  mixupAlpha: 0.8,
  cutmixAlpha: 1.0,
  cutmixMinmax: null,
  prob: 1,
  switchProb: 0.5,
  mode: 'batch',
  labelSmoothing: 0.1,
  numClasses: 7,
};

function batch(B: number, seed: number) {
  const u = seededRandom(seed);
  const shape = [B, 2, 6, 5];
  const images = Float32Array.from({ length: B * 60 }, () => u());
  const labels = Array.from({ length: B }, () => Math.floor(u() * 7));
  return { shape, images, labels };
}

describe('mixup and cutmix (timm Mixup)', () => {
  it('targets sum to 1 and carry the label smoothing, in every mode', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.constantFrom('batch', 'pair', 'elem'),
        fc.double({ min: 0, max: 0.3, noNaN: true }),
        fc.integer({ min: 0, max: 2 ** 30 }),
        (half, mode, smoothing, seed) => {
          const { shape, images, labels } = batch(2 * half, seed);
          const s = { ...base, mode: mode as MixupSettings['mode'], labelSmoothing: smoothing };
          const t = mixupBatch(images, shape, labels, s, seededRandom(seed + 1));
          for (let i = 0; i < 2 * half; i++) {
            const row = t.subarray(i * 7, (i + 1) * 7);
            expect(Math.abs(row.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-6);
            expect(Math.min(...row)).toBeGreaterThanOrEqual(smoothing / 7 - 1e-7);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('batch mixup blends each image with its mirror by the λ of the targets', () => {
    const { shape, images, labels } = batch(4, 3);
    labels.splice(0, 4, 0, 1, 2, 3);
    const orig = Float32Array.from(images);
    const t = mixupBatch(images, shape, labels, { ...base, cutmixAlpha: 0, labelSmoothing: 0 }, seededRandom(5));
    const lam = t[0 * 7 + 0];
    expect(t[0 * 7 + 3]).toBeCloseTo(1 - lam, 6);
    for (let k = 0; k < 60; k++) expect(images[k]).toBeCloseTo(orig[k] * lam + orig[3 * 60 + k] * (1 - lam), 5);
  });

  it('batch cutmix pastes one box from the mirror and sets λ to the area kept', () => {
    const { shape, images, labels } = batch(2, 9);
    labels.splice(0, 2, 1, 4);
    const orig = Float32Array.from(images);
    const t = mixupBatch(images, shape, labels, { ...base, mixupAlpha: 0, labelSmoothing: 0 }, seededRandom(11));
    let changed = 0;
    for (let k = 0; k < 60; k++) {
      if (images[k] !== orig[k]) {
        expect(images[k]).toBe(orig[60 + k]);
        changed++;
      }
    }
    expect(t[1]).toBeCloseTo(1 - changed / 2 / 30, 6);
  });

  it('draws boxes inside the image and Beta(α, α) with mean ½', () => {
    const u = seededRandom(1);
    for (let i = 0; i < 200; i++) {
      const b = cutmixBox(u, 13, 9, u(), i % 2 ? [0.2, 0.8] : null);
      expect(b.yl >= 0 && b.yh <= 13 && b.xl >= 0 && b.xh <= 9 && b.lam >= 0 && b.lam <= 1).toBe(true);
    }
    const draws = Array.from({ length: 4000 }, () => betaSample(u, 0.8));
    expect(Math.abs(draws.reduce((a, b) => a + b, 0) / draws.length - 0.5)).toBeLessThan(0.02);
    expect(draws.every((d) => d >= 0 && d <= 1)).toBe(true);
  });

  it('refuses an odd batch', () => {
    const { shape, images, labels } = batch(3, 1);
    expect(() => mixupBatch(images, shape, labels, base, seededRandom(0))).toThrow(/even batch size/);
  });
});
