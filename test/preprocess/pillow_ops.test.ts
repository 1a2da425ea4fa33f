import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { affine, type AffineMatrix, rotate } from '../../src/preprocess/affine.js';
import { enhanceBrightness, enhanceColor, enhanceContrast, enhanceSharpness } from '../../src/preprocess/enhance.js';
import { crop, flipLeftRight } from '../../src/preprocess/geometry.js';
import type { RgbImage } from '../../src/preprocess/image.js';
import { autocontrast, equalize, invert, posterize, solarize, solarizeAdd } from '../../src/preprocess/point.js';
import { type Resample, resizeImage } from '../../src/preprocess/resize.js';

/** Pillow's outputs at fixed parameters, written by scripts/pillow-fixtures.py. */
interface Stored {
  offset: number;
  width: number;
  height: number;
}
interface Case {
  op: string;
  input: string;
  params: Record<string, unknown>;
  output: Stored;
}
const dir = new URL('../assets/pillow/', import.meta.url);
const index = JSON.parse(readFileSync(new URL('ops.json', dir), 'utf8')) as {
  pillow: string;
  inputs: Record<string, Stored>;
  cases: Case[];
};
const blob = new Uint8Array(readFileSync(new URL('ops.bin', dir)));
const image = (s: Stored): RgbImage => ({
  width: s.width,
  height: s.height,
  data: blob.subarray(s.offset, s.offset + s.width * s.height * 3),
});

const FILL = [124, 116, 104] as const;
const OPS: Record<string, (img: RgbImage, p: Record<string, unknown>) => RgbImage> = {
  rotate: (img, p) => rotate(img, p.degrees as number, p.resample as Resample, FILL),
  affine: (img, p) => affine(img, p.matrix as unknown as AffineMatrix, p.resample as Resample, FILL),
  resize: (img, p) => {
    const [l, t, r, b] = p.box as number[];
    const [w, h] = p.size as number[];
    return resizeImage(crop(img, l, t, r - l, b - t), w, h, p.resample as Resample);
  },
  autocontrast: (img) => autocontrast(img),
  equalize: (img) => equalize(img),
  invert: (img) => invert(img),
  posterize: (img, p) => posterize(img, p.bits as number),
  solarize: (img, p) => solarize(img, p.threshold as number),
  solarize_add: (img, p) => solarizeAdd(img, p.add as number),
  color: (img, p) => enhanceColor(img, p.factor as number),
  contrast: (img, p) => enhanceContrast(img, p.factor as number),
  brightness: (img, p) => enhanceBrightness(img, p.factor as number),
  sharpness: (img, p) => enhanceSharpness(img, p.factor as number),
  flip: (img) => flipLeftRight(img),
};

describe(`image operations against Pillow ${index.pillow}`, () => {
  it('covers every operation the training transform uses', () => {
    expect(new Set(index.cases.map((c) => c.op))).toEqual(new Set(Object.keys(OPS)));
  });

  it.each(Object.keys(OPS))('%s equals Pillow sample for sample', (op) => {
    const cases = index.cases.filter((c) => c.op === op);
    let worst = 0;
    let differing = 0;
    for (const c of cases) {
      const got = OPS[op](image(index.inputs[c.input]), c.params);
      const want = image(c.output);
      expect([got.width, got.height]).toEqual([want.width, want.height]);
      let max = 0;
      for (let i = 0; i < want.data.length; i++) max = Math.max(max, Math.abs(got.data[i] - want.data[i]));
      worst = Math.max(worst, max);
      if (max > 0) differing++;
    }
    console.log(`[conformance] Pillow ${op}: ${cases.length} cases, ${differing} differ, max|diff| ${worst}`);
    expect(worst).toBe(0);
  });
});
