/**
 * `flatten-vit analyze rank | focus | fp`: the paper's evidence, on any model and image.
 */
import type { FigureFormat } from '../../analysis/figure_file.js';
import { analyzeRank, drawFocusingFunction, focusMaps } from '../../analysis/report.js';
import { readNpy } from '../../io/npy.js';
import { type Command, positiveInt, required, UsageError } from '../command.js';
import { resolveModelArgs } from '../model_args.js';

const int = (v: Record<string, unknown>, name: string, def: number, min: number): number => {
  if (v[name] === undefined) return def;
  const n = Number(v[name]);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`analyze: --${name} must be an integer ≥ ${min}, found '${String(v[name])}'`);
  return n;
};

export const analyzeCommand: Command = {
  name: 'analyze',
  summary: "the paper's evidence: attention rank, focus maps, the focusing function",
  usage: `flatten-vit analyze rank --arch <name | config.json> --checkpoint <file> (--image <file> | --input <x.npy>)
    --stage S --block B --head H [--window W] [--json] [--out <dir>] [--format svg|png] [--caption <text>]
flatten-vit analyze focus --arch <name | config.json> --checkpoint <file> --image <file>
    [--stage 1] [--block 0] [--head 0] [--queries 4] --out <dir> [--format svg|png] [--caption <text>]
flatten-vit analyze fp --out <dir> [--format svg|png]

  rank   builds the block's N×N row-normalised attention matrices from its own queries and keys:
         softmax (softmax(q kᵀ d^-½) of the raw projections), linear (ReLU kernel with the learned
         scale), focused (with f_p), focused_dwc (plus the DWC as its equivalent matrix, as the
         official visualize.py builds it), and reports each one's numerical rank with numpy's
         matrix_rank convention for float32. --out writes rank.svg: the four heat maps over token
         axes, titled with their ranks, with a colour legend.
         --json prints {"tokens", "head_dim", "ranks": {"softmax", "linear", "focused", "focused_dwc"}}.
  focus  overlays each kind of attention of chosen query tokens on the image (weights in blue, the
         query in red, as visualize.py draws them) as PNGs, and focus.svg comparing the kinds.
  fp     draws 2-D vectors before and after the focusing function f_p for p = 1, 2, 3, 5, 10 (fp.svg).

  Figures are SVG (Vega-Lite); --format png renders them as PNG with the system's fonts. Their
  subtitle names the architecture, checkpoint and image; --caption <text> replaces it.

  Stages count from 1; blocks, heads and windows from 0.

Example:
  npx flatten-vit analyze rank --arch flatten_swin_t --checkpoint flatten_swin_t.pth --image cat.jpg --stage 1 --block 0 --head 0`,
  allowPositionals: true,
  options: {
    arch: { type: 'string' },
    checkpoint: { type: 'string' },
    ema: { type: 'boolean' },
    threads: { type: 'string' },
    image: { type: 'string' },
    input: { type: 'string' },
    stage: { type: 'string' },
    block: { type: 'string' },
    head: { type: 'string' },
    window: { type: 'string' },
    queries: { type: 'string' },
    json: { type: 'boolean' },
    out: { type: 'string' },
    format: { type: 'string' },
    caption: { type: 'string' },
  },
  async run(v, positionals) {
    const what = positionals[0];
    if (positionals.length !== 1 || !['rank', 'focus', 'fp'].includes(what)) throw new UsageError('analyze: expected rank, focus or fp');
    const format = (v.format ?? 'svg') as FigureFormat;
    if (format !== 'svg' && format !== 'png') throw new UsageError(`analyze: --format must be svg or png, found '${String(v.format)}'`);
    if (what === 'fp') {
      process.stderr.write(`flatten-vit: wrote ${await drawFocusingFunction(required(v, 'out', 'analyze fp'), format)}\n`);
      return;
    }
    const { arch, checkpoint } = await resolveModelArgs(v, `analyze ${what}`, v.json === true);
    const m = { arch, checkpoint, ema: v.ema === true, threads: positiveInt(v, 'threads', 'analyze') };
    const sel = { stage: int(v, 'stage', 1, 1), block: int(v, 'block', 0, 0), head: int(v, 'head', 0, 0), window: int(v, 'window', 0, 0) };
    if (what === 'rank') {
      if (v.stage === undefined || v.block === undefined || v.head === undefined)
        throw new UsageError('analyze rank: --stage, --block and --head are required');
      const source = typeof v.image === 'string' ? { image: v.image } : typeof v.input === 'string' ? { input: readNpy(v.input) } : null;
      if (!source) throw new UsageError('analyze rank: give --image <file> or --input <x.npy>');
      const report = await analyzeRank(m, source, sel, {
        outDir: typeof v.out === 'string' ? v.out : undefined,
        format,
        ...(typeof v.caption === 'string' ? { caption: v.caption } : {}),
        onStep: (s) => v.json !== true && process.stderr.write(`flatten-vit: ${s}\n`),
      });
      if (v.json === true) {
        process.stdout.write(`${JSON.stringify({ tokens: report.tokens, head_dim: report.head_dim, ranks: report.ranks })}\n`);
      } else {
        process.stdout.write(`${report.tokens} tokens, head dim ${report.head_dim}\n`);
        for (const [k, r] of Object.entries(report.ranks))
          process.stdout.write(`  ${k.padEnd(12)} ${r === null ? 'n/a (softmax block)' : `rank ${r} / ${report.tokens}`}\n`);
      }
      if (report.figure) process.stderr.write(`flatten-vit: wrote ${report.figure}\n`);
      return;
    }
    const files = await focusMaps(m, required(v, 'image', 'analyze focus'), sel, {
      queries: int(v, 'queries', 4, 1),
      outDir: required(v, 'out', 'analyze focus'),
      format,
      ...(typeof v.caption === 'string' ? { caption: v.caption } : {}),
    });
    process.stderr.write(`flatten-vit: wrote ${files.length - 1} overlays to ${v.out}, and the figure ${files[files.length - 1]}\n`);
  },
};
