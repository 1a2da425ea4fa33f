/**
 * Mixup and CutMix as the official loader applies them to every training batch (timm's `Mixup`
 * with `AUG.MIXUP`, `AUG.CUTMIX`, `AUG.CUTMIX_MINMAX`, `AUG.MIXUP_PROB`, `AUG.MIXUP_SWITCH_PROB`,
 * `AUG.MIXUP_MODE` and `MODEL.LABEL_SMOOTHING`): each image is blended with, or has a box pasted
 * from, its mirror in the batch (sample B−1−i), and the targets become the same mixture of the two
 * smoothed one-hot labels, so that they sum to 1. The random draws come from a seeded generator.
 */
import { FlattenError } from '../util/errors.js';
import { normal } from '../util/random.js';

/** timm `Mixup`'s settings. */
export interface MixupSettings {
  readonly mixupAlpha: number;
  readonly cutmixAlpha: number;
  /** `CUTMIX_MINMAX`: box size as a fraction of the image, drawn uniformly (forces cutmix α = 1). */
  readonly cutmixMinmax: readonly [number, number] | null;
  /** `MIXUP_PROB`: probability of mixing a batch (or element). */
  readonly prob: number;
  /** `MIXUP_SWITCH_PROB`: probability of CutMix rather than Mixup when both are on. */
  readonly switchProb: number;
  readonly mode: 'batch' | 'pair' | 'elem';
  readonly labelSmoothing: number;
  readonly numClasses: number;
}

/** Gamma(k, 1) by Marsaglia and Tsang (k < 1 boosted by U^(1/k)). */
function gamma(u: () => number, k: number): number {
  if (k < 1) return gamma(u, k + 1) * u() ** (1 / k);
  const d = k - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = normal(u);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const w = u();
    if (w < 1 - 0.0331 * x ** 4 || Math.log(w) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** Beta(a, a). */
export function betaSample(u: () => number, a: number): number {
  const x = gamma(u, a);
  return x / (x + gamma(u, a));
}

/** numpy's `randint(low, high)`: an integer in [low, high). */
const randint = (u: () => number, low: number, high: number) => low + Math.floor(u() * (high - low));
const clip = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);

/** A CutMix box (rows yl..yh, columns xl..xh) and λ corrected to the area actually kept. */
export function cutmixBox(
  u: () => number,
  h: number,
  w: number,
  lam: number,
  minmax: readonly [number, number] | null,
): { yl: number; yh: number; xl: number; xh: number; lam: number } {
  let yl: number;
  let yh: number;
  let xl: number;
  let xh: number;
  if (minmax) {
    const ch = randint(u, Math.trunc(h * minmax[0]), Math.trunc(h * minmax[1]));
    const cw = randint(u, Math.trunc(w * minmax[0]), Math.trunc(w * minmax[1]));
    yl = randint(u, 0, h - ch);
    xl = randint(u, 0, w - cw);
    yh = yl + ch;
    xh = xl + cw;
  } else {
    const ratio = Math.sqrt(1 - lam);
    const ch = Math.trunc(h * ratio);
    const cw = Math.trunc(w * ratio);
    const cy = randint(u, 0, h);
    const cx = randint(u, 0, w);
    yl = clip(cy - Math.floor(ch / 2), 0, h);
    yh = clip(cy + Math.floor(ch / 2), 0, h);
    xl = clip(cx - Math.floor(cw / 2), 0, w);
    xh = clip(cx + Math.floor(cw / 2), 0, w);
  }
  return { yl, yh, xl, xh, lam: 1 - ((yh - yl) * (xh - xl)) / (h * w) };
}

/** One mixing decision: λ (1 = untouched) and whether CutMix is used. */
function draw(u: () => number, s: MixupSettings): { lam: number; cutmix: boolean } {
  if (!(u() < s.prob)) return { lam: 1, cutmix: false };
  const both = s.mixupAlpha > 0 && s.cutmixAlpha > 0;
  const cutmix = both ? u() < s.switchProb : s.mixupAlpha <= 0;
  return { lam: betaSample(u, cutmix ? s.cutmixAlpha : s.mixupAlpha), cutmix };
}

/**
 * Mixes a batch in place — images (B, C, H, W) row-major — and returns its soft targets (B, K).
 *
 * @example
 * ```ts
 * const targets = mixupBatch(x.data, x.shape, labels, settings, seededRandom(0));
 * ```
 */
export function mixupBatch(
  images: Float32Array,
  shape: readonly number[],
  labels: ArrayLike<number>,
  settings: MixupSettings,
  u: () => number,
): Float32Array {
  const [B, C, H, W] = shape;
  if (B % 2 !== 0) throw new FlattenError('config', `mixup and cutmix need an even batch size (timm's Mixup), found DATA.BATCH_SIZE ${B}`);
  const s = settings.cutmixMinmax ? { ...settings, cutmixAlpha: 1 } : settings;
  const plane = H * W;
  const per = C * plane;
  const orig = Float32Array.from(images);
  const lams = new Float64Array(B).fill(1);
  const blend = (i: number, j: number, lam: number) => {
    for (let k = 0; k < per; k++)
      images[i * per + k] = Math.fround(Math.fround(orig[i * per + k] * lam) + Math.fround(orig[j * per + k] * (1 - lam)));
  };
  const paste = (i: number, j: number, b: { yl: number; yh: number; xl: number; xh: number }) => {
    for (let c = 0; c < C; c++)
      for (let y = b.yl; y < b.yh; y++)
        for (let x = b.xl; x < b.xh; x++) images[i * per + c * plane + y * W + x] = orig[j * per + c * plane + y * W + x];
  };
  if (s.mode === 'batch') {
    const d = draw(u, s);
    if (d.lam !== 1) {
      if (d.cutmix) {
        const b = cutmixBox(u, H, W, d.lam, s.cutmixMinmax);
        for (let i = 0; i < B; i++) paste(i, B - 1 - i, b);
        lams.fill(b.lam);
      } else {
        const lam = Math.fround(d.lam);
        for (let i = 0; i < B; i++) blend(i, B - 1 - i, lam);
        lams.fill(d.lam);
      }
    }
  } else {
    const n = s.mode === 'pair' ? B / 2 : B;
    for (let i = 0; i < n; i++) {
      const d = draw(u, s);
      const j = B - 1 - i;
      if (d.lam === 1) continue;
      if (d.cutmix) {
        const b = cutmixBox(u, H, W, d.lam, s.cutmixMinmax);
        paste(i, j, b);
        if (s.mode === 'pair') paste(j, i, b);
        lams[i] = b.lam;
      } else {
        const lam = Math.fround(d.lam);
        blend(i, j, lam);
        if (s.mode === 'pair') blend(j, i, lam);
        lams[i] = lam;
      }
      if (s.mode === 'pair') lams[j] = lams[i];
    }
  }
  const K = s.numClasses;
  const off = s.labelSmoothing / K;
  const on = 1 - s.labelSmoothing + off;
  const targets = new Float32Array(B * K);
  for (let i = 0; i < B; i++) {
    const y1 = labels[i];
    const y2 = labels[B - 1 - i];
    for (const [y, where] of [
      [y1, i],
      [y2, B - 1 - i],
    ])
      if (!Number.isInteger(y) || y < 0 || y >= K)
        throw new FlattenError('input', `label ${y} at position ${where} is outside the model's ${K} classes`);
    const lam = lams[i];
    for (let k = 0; k < K; k++) targets[i * K + k] = (k === y1 ? on : off) * lam + (k === y2 ? on : off) * (1 - lam);
  }
  return targets;
}
