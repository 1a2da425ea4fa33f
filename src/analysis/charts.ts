/**
 * The analyses' figures as Vega-Lite specs: the focusing function (the paper's Fig. 4), a head's four
 * attention matrices with their ranks (Fig. 5) and the focus maps over an image (Fig. 3). Axes, ticks,
 * titles and colour legends are Vega-Lite's; the matrices and overlays are embedded as pixel-exact
 * PNG images (one pixel per entry), drawn over those axes.
 */
import type { TopLevelSpec } from 'vega-lite';
import { seededRandom } from '../models/init.js';
import type { RgbImage } from '../preprocess/image.js';
import type { AttentionKind, BlockAttention } from './attention.js';
import { BLUES, displayGain, encodePng, heatmap, OVERLAY_BACKGROUND, OVERLAY_COLOUR } from './draw.js';
import { FP_POWERS, fp } from './focusing.js';

const hex = (c: readonly number[]) => `#${c.map((v) => v.toString(16).padStart(2, '0')).join('')}`;

/**
 * An image enlarged by whole pixels to at least `size` a side: renderers that smooth embedded images
 * (resvg ignores `image-rendering`) then blur only the last, partial pixel step.
 */
function enlarge(img: RgbImage, size: number): RgbImage {
  const k = Math.max(1, Math.ceil(size / Math.max(img.width, img.height)));
  if (k === 1) return img;
  const width = img.width * k;
  const data = new Uint8Array(width * img.height * k * 3);
  for (let y = 0; y < img.height * k; y++)
    for (let x = 0; x < width; x++) {
      const s = (Math.floor(y / k) * img.width + Math.floor(x / k)) * 3;
      data.set(img.data.subarray(s, s + 3), (y * width + x) * 3);
    }
  return { width, height: img.height * k, data };
}

/** A PNG data URL of an image (base64 built in chunks: a spread of a large array would overflow the stack). */
function dataUrl(img: RgbImage): string {
  const png = encodePng(img);
  let text = '';
  for (let i = 0; i < png.length; i += 0x8000) text += String.fromCharCode(...png.subarray(i, i + 0x8000));
  return `data:image/png;base64,${btoa(text)}`;
}

/** How each kind is named in the figures. */
export const KIND_TITLES: Readonly<Record<AttentionKind, string>> = {
  softmax: 'softmax',
  linear: 'linear',
  focused: 'focused',
  focused_dwc: 'focused + DWC',
};

/** The side of a heat map or overlay panel, in pixels. */
const SIZE = 220;

/**
 * Fig. 4: 2-D vectors in the positive quadrant and their images under f_p, one panel per p.
 *
 * @example
 * ```ts
 * writeFileSync('fp.svg', await chartSvg(focusingChart()));
 * ```
 */
export function focusingChart(powers: readonly number[] = FP_POWERS): TopLevelSpec {
  const rnd = seededRandom(4);
  const vectors = Array.from({ length: 14 }, () => {
    const angle = (rnd() * Math.PI) / 2;
    const r = 0.35 + 0.6 * rnd();
    return [r * Math.cos(angle), r * Math.sin(angle)];
  });
  const arrows = powers.flatMap((p) =>
    vectors.flatMap((v) => {
      const f = fp(v, p);
      return [
        { p, vector: 'x', x0: 0, y0: 0, x: v[0], y: v[1] },
        { p, vector: 'f_p(x)', x0: 0, y0: 0, x: f[0], y: f[1] },
      ];
    }),
  );
  const arc = powers.flatMap((p) =>
    Array.from({ length: 91 }, (_, a) => ({ p, a, x: Math.cos((a * Math.PI) / 180), y: Math.sin((a * Math.PI) / 180) })),
  );
  const axis = (title: string) => ({ type: 'quantitative' as const, scale: { domain: [0, 1.05] }, axis: { title, tickCount: 5 } });
  const colour = {
    field: 'vector',
    type: 'nominal' as const,
    scale: { domain: ['x', 'f_p(x)'], range: ['#b0b0b0', hex(BLUES[6])] },
    title: null,
  };
  return {
    title: {
      text: 'The focusing function f_p(x) = ‖x‖ · x^p / ‖x^p‖',
      subtitle: 'unit quarter circle in grey; each vector keeps its norm',
    },
    hconcat: powers.map((p) => ({
      title: `p = ${p}`,
      width: 170,
      height: 170,
      layer: [
        {
          data: { values: arc.filter((r) => r.p === p) },
          mark: { type: 'line' as const, color: '#dddddd' },
          encoding: { x: { field: 'x', ...axis('x₁') }, y: { field: 'y', ...axis('x₂') }, order: { field: 'a' } },
        },
        {
          data: { values: arrows.filter((r) => r.p === p) },
          mark: { type: 'rule' as const, strokeWidth: 1.5 },
          encoding: {
            x: { field: 'x0', ...axis('x₁') },
            y: { field: 'y0', ...axis('x₂') },
            x2: { field: 'x' },
            y2: { field: 'y' },
            color: colour,
          },
        },
        {
          data: { values: arrows.filter((r) => r.p === p) },
          mark: { type: 'point' as const, filled: true, size: 20 },
          encoding: { x: { field: 'x', ...axis('x₁') }, y: { field: 'y', ...axis('x₂') }, color: colour },
        },
      ],
    })),
  };
}

/** One panel of the rank figure: its title and its heat map. */
interface Panel {
  readonly title: string;
  readonly image: RgbImage;
}

/**
 * Fig. 5: the four attention matrices of one head as heat maps (matplotlib's `Blues`, values scaled
 * as `visualize.py` scales them), each titled with its numerical rank.
 *
 * @example
 * ```ts
 * const spec = rankChart(att, { softmax: 64, linear: 32, focused: 32, focused_dwc: 64 }, 'a FLatten-PVTv2 trained on MNIST');
 * ```
 */
export function rankChart(att: BlockAttention, ranks: Readonly<Record<AttentionKind, number | null>>, subtitle: string): TopLevelSpec {
  const n = att.tokens;
  const gain = displayGain(n);
  const panels: Panel[] = [];
  for (const [kind, title] of Object.entries(KIND_TITLES) as [AttentionKind, string][]) {
    const a = att.kinds[kind];
    if (!a) continue;
    panels.push({
      title: `${title}: rank ${ranks[kind] ?? '?'}/${n}`,
      image: enlarge(heatmap(a.matrix.data, a.matrix.rows, a.matrix.cols), SIZE),
    });
  }
  const tokenAxis = (title: string, reverse: boolean) => ({
    type: 'quantitative' as const,
    scale: { domain: [0, n], reverse, nice: false },
    axis: { title, tickMinStep: 1, format: 'd' },
  });
  return {
    title: { text: `Attention matrices of one head, ${n} tokens, head dimension ${att.headDim}`, subtitle },
    hconcat: panels.map((panel) => ({
      title: panel.title,
      width: SIZE,
      height: SIZE,
      layer: [
        {
          data: { values: [{ x: 0, y: 0, url: dataUrl(panel.image) }] },
          mark: {
            type: 'image' as const,
            width: SIZE,
            height: SIZE,
            align: 'left' as const,
            baseline: 'top' as const,
            aspect: false,
            smooth: false,
            aria: false,
          },
          encoding: {
            x: { field: 'x', ...tokenAxis('key token', false) },
            y: { field: 'y', ...tokenAxis('query token', true) },
            url: { field: 'url', type: 'nominal' as const },
          },
        },
        {
          data: { values: [{ weight: 0 }] },
          mark: { type: 'point' as const, opacity: 0 },
          encoding: {
            color: {
              field: 'weight',
              type: 'quantitative' as const,
              scale: { domain: [0, 1 / gain], range: BLUES.map(hex) },
              title: ['attention', `weight (× ${gain.toFixed(2)},`, 'clipped at 1)'],
            },
          },
        },
      ],
    })),
  };
}

/** One query token of a focus-map figure: where it is, and each kind's attention over the image. */
export interface FocusRow {
  readonly token: number;
  readonly query: RgbImage;
  readonly kinds: readonly { kind: AttentionKind; image: RgbImage }[];
}

/**
 * Fig. 3: for each query token (red), each kind of attention over the image as `visualize.py` draws
 * it, in a grid with a legend of the overlay's colour scale.
 *
 * @example
 * ```ts
 * const spec = focusChart(rows, 64, 'the fixture cswin_mini (random weights)');
 * ```
 */
export function focusChart(rows: readonly FocusRow[], tokens: number, subtitle: string): TopLevelSpec {
  const columns = ['query', ...rows[0].kinds.map((k) => KIND_TITLES[k.kind])];
  const size = Math.max(120, Math.min(SIZE, rows[0].query.width));
  const cells = rows.flatMap((r) => [
    { token: `token ${r.token}`, column: 'query', url: dataUrl(enlarge(r.query, size)), weight: 0 },
    ...r.kinds.map((k) => ({ token: `token ${r.token}`, column: KIND_TITLES[k.kind], url: dataUrl(enlarge(k.image, size)), weight: 0 })),
  ]);
  return {
    title: { text: 'Where a query token attends', subtitle },
    data: { values: cells },
    facet: {
      row: { field: 'token', type: 'nominal', title: null, sort: rows.map((r) => `token ${r.token}`) },
      column: { field: 'column', type: 'nominal', title: null, sort: columns, header: { labelFontSize: 13 } },
    },
    spec: {
      width: size,
      height: size,
      layer: [
        {
          mark: { type: 'image', width: size, height: size, smooth: false, aria: false },
          encoding: { x: { value: size / 2 }, y: { value: size / 2 }, url: { field: 'url', type: 'nominal' } },
        },
        {
          mark: { type: 'point', opacity: 0 },
          encoding: {
            color: {
              field: 'weight',
              type: 'quantitative',
              scale: { domain: [0, 1 / displayGain(tokens)], range: [hex(OVERLAY_BACKGROUND), hex(OVERLAY_COLOUR)] },
              title: ['attention weight', '(blended 70% over', 'the image)'],
            },
          },
        },
      ],
    },
    config: { view: { stroke: null } },
  };
}
