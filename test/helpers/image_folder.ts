/**
 * Test helper: small ImageFolder datasets written as PNG files, each class a different pattern (a
 * bright square, stripes, a dark frame …) on a noisy background, so that a model can learn them.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import type { TransformSettings } from '../../src/data/transforms.js';
import { Random } from '../../src/util/random.js';

/** One PNG of `w`×`h` showing pattern `cls`. */
export function patternPng(cls: number, w: number, h: number, seed: number): Buffer {
  const r = new Random(seed);
  const png = new PNG({ width: w, height: h });
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const on =
        cls % 3 === 0
          ? Math.abs(x - w / 2) < w / 4 && Math.abs(y - h / 2) < h / 4
          : cls % 3 === 1
            ? Math.floor(x / 4) % 2 === 0
            : x < 3 || y < 3 || x >= w - 3 || y >= h - 3;
      const base = on ? 200 : 40;
      const i = (y * w + x) * 4;
      png.data[i] = base + (cls >= 3 ? 40 : 0) * (on ? -1 : 1) + Math.floor(r.next() * 20);
      png.data[i + 1] = base + Math.floor(r.next() * 20);
      png.data[i + 2] = base - (cls >= 3 ? 30 : 0) + Math.floor(r.next() * 20);
      png.data[i + 3] = 255;
    }
  }
  return PNG.sync.write(png);
}

/**
 * Writes `<root>/<split>/<class>/<i>.png` for the given classes.
 *
 * @example
 * ```ts
 * makeImageFolder(dir, 'train', ['a', 'b'], 6, 40);
 * ```
 */
export function makeImageFolder(root: string, split: string, classes: readonly string[], perClass: number, size: number, seed = 0): void {
  classes.forEach((c, k) => {
    mkdirSync(join(root, split, c), { recursive: true });
    for (let i = 0; i < perClass; i++)
      writeFileSync(join(root, split, c, `${i}.png`), patternPng(k, size, size, seed * 7919 + k * 1000 + i));
  });
}

/** The official training transform's settings (RandAugment rand-m9-mstd0.5-inc1, erasing 0.25) at a small size. */
export function officialTransform(size: number): TransformSettings {
  return {
    size,
    hflip: 0.5,
    interpolation: 'bicubic',
    randAugment: { magnitude: 9, layers: 2, magnitudeStd: 0.5, magnitudeMax: 10, increasing: true, prob: 0.5 },
    colorJitter: 0.4,
    reProb: 0.25,
    reCount: 1,
    testCrop: true,
  };
}
