/**
 * The analyses as the CLI runs them: rank of a block's attention (with its figure), focus maps over
 * the image, and the focusing function's figure, each from an architecture, a checkpoint and an
 * image or a preprocessed input.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { officialCrop } from '../classify/crop.js';
import { FlattenModel } from '../model.js';
import type { RgbImage } from '../preprocess/image.js';
import { loadImage } from '../preprocess/input.js';
import { evalImage, toNormalizedTensor } from '../preprocess/transform.js';
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
import { type FocusRow, focusChart, focusingChart, rankChart } from './charts.js';
import { displayGain, encodePng, overlay } from './draw.js';
import { type FigureFormat, writeFigure } from './figure_file.js';
import { numericalRank } from './rank.js';

/** `analyze rank --json`. */
export interface RankReport {
  tokens: number;
  head_dim: number;
  ranks: Record<AttentionKind, number | null>;
  /** The figure written (`rank.svg` or `rank.png`), with `outDir`. */
  figure?: string;
}

/** Where the figures go, and how they are captioned. */
export interface FigureOptions {
  /** The folder the figure files go to. */
  outDir?: string;
  /** `svg` (default) or `png`. */
  format?: FigureFormat;
  /** The figure's subtitle: which model and input it shows (default: the architecture, checkpoint and image). */
  caption?: string;
}

/** A figure's default subtitle: what it was made from. */
function describe(m: AnalysisModel, source: { image?: string }, sel: AttentionSelection): string {
  const arch = typeof m.arch === 'string' ? basename(m.arch) : m.arch.family;
  const checkpoint = typeof m.checkpoint === 'string' ? basename(m.checkpoint) : 'checkpoint bytes';
  const image = source.image ? `, ${basename(source.image)}` : '';
  return `${arch}, ${checkpoint}${image}; stage ${sel.stage}, block ${sel.block}, head ${sel.head}`;
}

/** The model input and the picture it shows (the crop the model sees). */
export interface AnalysisInput {
  tensor: Tensor;
  picture: RgbImage | null;
}

/** Loads an image as the official evaluation would feed it, keeping the uint8 crop for drawing. */
export function imageInput(path: string, size: number, crop: boolean): AnalysisInput {
  const seen = evalImage(loadImage(path, path), { size, crop, source: path });
  return { tensor: toNormalizedTensor(seen), picture: seen };
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
 * The four attention matrices of one head and their numerical ranks; with `outDir`, a figure of
 * their heat maps titled with the ranks.
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
  opts: FigureOptions & { onStep?: (s: string) => void } = {},
): Promise<RankReport> {
  const model = await load(m, sel);
  try {
    const att = await blockAttention(model, analysisInput(model, source).tensor, sel);
    const ranks = { softmax: null, linear: null, focused: null, focused_dwc: null } as RankReport['ranks'];
    for (const kind of KINDS) {
      const a = att.kinds[kind];
      if (!a) continue;
      opts.onStep?.(`rank of ${kind} (${att.tokens}×${att.tokens})`);
      ranks[kind] = (await numericalRank(a, m.threads)).rank;
    }
    const report: RankReport = { tokens: att.tokens, head_dim: att.headDim, ranks };
    if (opts.outDir) {
      const spec = rankChart(att, ranks, opts.caption ?? describe(m, source, sel));
      report.figure = await writeFigure(opts.outDir, 'rank', spec, opts.format ?? 'svg');
    }
    return report;
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
  const gain = displayGain(a.cols);
  return Float64Array.from(a.data.subarray(t * a.cols, (t + 1) * a.cols), (v) => Math.min(1, v * gain));
}

/**
 * Focus maps: for each query token, each kind of attention over the image (PNG overlays, as
 * `visualize.py` draws them), and a figure of them all with the overlay's colour scale (`focus.svg`).
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
  opts: FigureOptions & { queries?: number; outDir: string },
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
    const save = (name: string, img: RgbImage) => {
      const file = join(opts.outDir, name);
      writeFileSync(file, encodePng(img));
      files.push(file);
      return img;
    };
    const rows: FocusRow[] = queryTokens(att.tokens, opts.queries ?? 4).map((t) => {
      const marker = new Float64Array(gh * gw);
      marker[t] = 1;
      return {
        token: t,
        query: save(`query_${t}.png`, overlay(picture, marker, gh, gw, true)),
        kinds: kinds.map((kind) => ({ kind, image: save(`${kind}_${t}.png`, overlay(picture, displayRow(att, kind, t), gh, gw)) })),
      };
    });
    const spec = focusChart(rows, att.tokens, opts.caption ?? describe(m, { image }, sel));
    files.push(await writeFigure(opts.outDir, 'focus', spec, opts.format ?? 'svg'));
    return files;
  } finally {
    await model.dispose();
  }
}

/**
 * The focusing function's figure (the paper's Fig. 4) as `outDir/fp.svg` (or `.png`).
 *
 * @example
 * ```ts
 * const file = await drawFocusingFunction('figures'); // figures/fp.svg
 * ```
 */
export async function drawFocusingFunction(outDir: string, format: FigureFormat = 'svg'): Promise<string> {
  return writeFigure(outDir, 'fp', focusingChart(), format);
}
