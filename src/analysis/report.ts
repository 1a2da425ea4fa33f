/**
 * The analyses as the CLI runs them: rank of a block's attention (with heat maps) and focus maps
 * over the image, each from an architecture, a checkpoint and an image or a preprocessed input.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { officialCrop } from '../classify/crop.js';
import { FlattenModel } from '../model.js';
import type { RgbImage } from '../preprocess/image.js';
import { loadImage } from '../preprocess/input.js';
import { resizeImage } from '../preprocess/resize.js';
import { centerCrop, toNormalizedTensor } from '../preprocess/transform.js';
import type { Tensor } from '../tensor.js';
import { FlattenError } from '../util/errors.js';
import {
  type AnalysisModel,
  type AttentionKind,
  type AttentionSelection,
  type BlockAttention,
  blockAttention,
  KINDS,
  probeScope,
} from './attention.js';
import { Canvas, encodePng, heatmap, overlay } from './draw.js';
import { numericalRank } from './rank.js';

/** `analyze rank --json`. */
export interface RankReport {
  tokens: number;
  head_dim: number;
  ranks: Record<AttentionKind, number | null>;
  /** PNG heat maps written, by kind. */
  files?: Partial<Record<AttentionKind, string>>;
}

/** The model input and the picture it shows (the crop the model sees). */
export interface AnalysisInput {
  tensor: Tensor;
  picture: RgbImage | null;
}

/** Loads an image as the official evaluation would feed it, keeping the uint8 crop for drawing. */
export function imageInput(path: string, size: number, crop: boolean): AnalysisInput {
  const img = loadImage(path, path);
  const resized = crop
    ? centerCrop(resizeImage(img, Math.trunc((256 / 224) * size), Math.trunc((256 / 224) * size)), size)
    : resizeImage(img, size, size);
  return { tensor: toNormalizedTensor(resized), picture: resized };
}

async function load(m: AnalysisModel, sel: AttentionSelection): Promise<FlattenModel> {
  return FlattenModel.load(m.arch, m.checkpoint, { probe: probeScope(sel), ema: m.ema, threads: m.threads });
}

/** Resolves `--image` or `--input` for a model. */
export function analysisInput(model: FlattenModel, source: { image?: string; input?: Tensor }): AnalysisInput {
  const [, h] = model.inputShape;
  if (source.image) return imageInput(source.image, h, officialCrop(model));
  if (source.input) {
    model.checkInput(source.input.shape, 'input');
    return { tensor: source.input, picture: null };
  }
  throw new FlattenError('usage', 'give --image <file> or --input <x.npy>');
}

/**
 * The four attention matrices of one head and their numerical ranks; with `outDir`, their heat maps.
 *
 * @example
 * ```ts
 * const r = await analyzeRank({ arch: 'flatten_swin_t', checkpoint: 'w.pth' }, { image: 'cat.jpg' }, { stage: 1, block: 0, head: 0 });
 * console.log(r.ranks); // { softmax: 3136, linear: 32, focused: 32, focused_dwc: 3136 }
 * ```
 */
export async function analyzeRank(
  m: AnalysisModel,
  source: { image?: string; input?: Tensor },
  sel: AttentionSelection,
  opts: { outDir?: string; onStep?: (s: string) => void } = {},
): Promise<RankReport> {
  const model = await load(m, sel);
  try {
    const att = await blockAttention(model, analysisInput(model, source).tensor, sel);
    const ranks = { softmax: null, linear: null, focused: null, focused_dwc: null } as RankReport['ranks'];
    const files: Partial<Record<AttentionKind, string>> = {};
    for (const kind of KINDS) {
      const a = att.kinds[kind];
      if (!a) continue;
      opts.onStep?.(`rank of ${kind} (${att.tokens}×${att.tokens})`);
      ranks[kind] = (await numericalRank(a, m.threads)).rank;
      if (opts.outDir) {
        mkdirSync(opts.outDir, { recursive: true });
        const file = join(opts.outDir, `${kind}.png`);
        writeFileSync(file, encodePng(heatmap(a.matrix.data, a.matrix.rows, a.matrix.cols)));
        files[kind] = file;
      }
    }
    return { tokens: att.tokens, head_dim: att.headDim, ranks, ...(opts.outDir ? { files } : {}) };
  } finally {
    await model.dispose();
  }
}

/** Evenly spread query tokens over the grid. */
export function queryTokens(tokens: number, count: number): number[] {
  const n = Math.min(count, tokens);
  return Array.from({ length: n }, (_, i) => Math.floor(((i + 0.5) * tokens) / n));
}

/** One attention row as display weights, as `visualize.py` scales them. */
function displayRow(att: BlockAttention, kind: AttentionKind, t: number): Float64Array {
  const a = att.kinds[kind]!.matrix;
  const gain = (a.cols / 196) * 10;
  return Float64Array.from(a.data.subarray(t * a.cols, (t + 1) * a.cols), (v) => Math.min(1, v * gain));
}

/**
 * Focus maps: for each query token, each kind of attention over the image, and a contact sheet.
 *
 * @example
 * ```ts
 * const files = await focusMaps({ arch, checkpoint }, 'cat.jpg', { stage: 1, block: 0, head: 0 }, { queries: 4, outDir: 'focus' });
 * ```
 */
export async function focusMaps(
  m: AnalysisModel,
  image: string,
  sel: AttentionSelection,
  opts: { queries?: number; outDir: string },
): Promise<string[]> {
  const model = await load(m, sel);
  try {
    const input = analysisInput(model, { image });
    const att = await blockAttention(model, input.tensor, sel);
    if (att.windows > 1) {
      throw new FlattenError(
        'usage',
        `stage ${sel.stage} block ${sel.block} attends in ${att.windows} windows; focus maps need a block that attends over the whole image (e.g. an L block of a released model)`,
      );
    }
    const kinds = KINDS.filter((k) => att.kinds[k]);
    const picture = input.picture!;
    const [gh, gw] = att.grid;
    mkdirSync(opts.outDir, { recursive: true });
    const files: string[] = [];
    const tokens = queryTokens(att.tokens, opts.queries ?? 4);
    const cell = picture.width;
    const pad = 8;
    const head = 28;
    const sheet = new Canvas((kinds.length + 1) * (cell + pad) + pad, tokens.length * (cell + pad) + pad + head);
    ['query', ...kinds.map((k) => k.replace('_', '+'))].forEach((label, c) => sheet.label(label, pad + c * (cell + pad) + cell / 2, 8));
    tokens.forEach((t, r) => {
      const y = head + pad + r * (cell + pad);
      const marker = new Float64Array(gh * gw);
      marker[t] = 1;
      const q = overlay(picture, marker, gh, gw, true);
      const qFile = join(opts.outDir, `query_${t}.png`);
      writeFileSync(qFile, encodePng(q));
      files.push(qFile);
      sheet.blit(q, pad, y);
      kinds.forEach((kind, c) => {
        const img = overlay(picture, displayRow(att, kind, t), gh, gw);
        const file = join(opts.outDir, `${kind}_${t}.png`);
        writeFileSync(file, encodePng(img));
        files.push(file);
        sheet.blit(img, pad + (c + 1) * (cell + pad), y);
      });
    });
    const sheetFile = join(opts.outDir, 'contact_sheet.png');
    writeFileSync(sheetFile, encodePng(sheet.image()));
    files.push(sheetFile);
    return files;
  } finally {
    await model.dispose();
  }
}
