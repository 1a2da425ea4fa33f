/**
 * FLatten-Swin (official `models/flatten_swin.py`, `FLattenSwinTransformer`): patch embedding, four
 * stages of window blocks with patch merging between them, final norm, mean pooling, head. `L` blocks
 * use focused linear attention inside (large) windows, `S` blocks Swin's window softmax attention with
 * relative position bias and shifted-window masks, `M` stages mix the two (SPEC.md §3).
 *
 * Dimension legend: B batch, L = H·W tokens of a stage, C channels, w window side, N = w² tokens of a
 * window, nW windows per image, B' = B·nW, h heads, d = C/h.
 */
import type { AttentionProbe, Graph, ParamSpec, Value } from '../../graph/graph.js';
import {
  conv2d,
  declareLinear,
  dropPathRates,
  imageToTokens,
  layerNorm,
  linear,
  meanTokens,
  mlp,
  probeSoftmax,
  project,
  residual,
  scaledQuery,
} from '../../graph/layers.js';
import * as op from '../../graph/ops.js';
import { ABLATION_ARGS, ablation, arg, type ArgSchema, require_, requireLength } from '../args.js';
import { focusedLinearAttention } from '../attention/focused_linear.js';
import type { BuiltModel, Family } from '../family.js';
import { inversePermutation, isIdentityPermutation, windowOrder } from '../windows.js';

/** Official constructor arguments and defaults of `FLattenSwinTransformer`. */
const schema: ArgSchema = {
  img_size: arg('int|int[]', 224),
  patch_size: arg('int|int[]', 4),
  in_chans: arg('int', 3),
  num_classes: arg('int', 1000),
  embed_dim: arg('int', 96),
  depths: arg('int[]', [2, 2, 6, 2]),
  num_heads: arg('int[]', [3, 6, 12, 24]),
  window_size: arg('int', 7),
  mlp_ratio: arg('number', 4),
  qkv_bias: arg('bool', true),
  qk_scale: arg('number?', null),
  drop_rate: arg('number', 0),
  attn_drop_rate: arg('number', 0),
  drop_path_rate: arg('number', 0.1),
  ape: arg('bool', false),
  patch_norm: arg('bool', true),
  use_checkpoint: arg('bool', false),
  focusing_factor: arg('number', 3),
  kernel_size: arg('int', 5),
  attn_type: arg('string', 'LLLL'),
  ...ABLATION_ARGS,
};

/** The released FLatten-Swin models (official `cfgs/flatten_swin_*.yaml`). */
const variants = {
  flatten_swin_t: { window_size: 56, attn_type: 'LLSS' },
  flatten_swin_s: { depths: [2, 2, 18, 2], window_size: 56, attn_type: 'LLSS' },
  flatten_swin_b: { embed_dim: 128, depths: [2, 2, 18, 2], num_heads: [4, 8, 16, 32], window_size: 56, attn_type: 'LLSS' },
  flatten_swin_b_384: {
    img_size: 384,
    embed_dim: 128,
    depths: [2, 2, 18, 2],
    num_heads: [4, 8, 16, 32],
    window_size: 96,
    attn_type: 'LLSS',
  },
};

interface SwinArgs {
  img_size: number | number[];
  patch_size: number | number[];
  in_chans: number;
  num_classes: number;
  embed_dim: number;
  depths: number[];
  num_heads: number[];
  window_size: number;
  mlp_ratio: number;
  qkv_bias: boolean;
  qk_scale: number | null;
  ape: boolean;
  patch_norm: boolean;
  focusing_factor: number;
  kernel_size: number;
  attn_type: string;
  drop_path_rate: number;
}

const pair = (v: number | number[]): [number, number] => (Array.isArray(v) ? [v[0], v[1]] : [v, v]);

/** One block's attention kind, window and shift, after the official constructor's adjustments. */
export interface SwinBlockPlan {
  type: 'L' | 'S';
  window: number;
  shift: number;
}

/** Per-block plan of one stage, exactly as `BasicLayer` and `SwinTransformerBlock` decide it. */
export function planSwinStage(stageType: string, depth: number, windowSize: number, res: [number, number]): SwinBlockPlan[] {
  const plans: SwinBlockPlan[] = [];
  for (let i = 0; i < depth; i++) {
    const type: 'L' | 'S' = stageType[0] !== 'M' ? (stageType as 'L' | 'S') : i < Number.parseInt(stageType.slice(1), 10) ? 'L' : 'S';
    let window = type === 'L' ? windowSize : windowSize <= 56 ? 7 : 12;
    let shift = i % 2 === 0 ? 0 : Math.floor(window / 2);
    if (Math.min(...res) <= window) {
      shift = 0;
      window = Math.min(...res);
    }
    plans.push({ type, window, shift });
  }
  return plans;
}

/** Relative position index of a w×w window, (N, N), as the official buffer. */
function relativePositionIndex(w: number): Int32Array {
  const N = w * w;
  const idx = new Int32Array(N * N);
  for (let a = 0; a < N; a++)
    for (let b = 0; b < N; b++) {
      const dr = Math.floor(a / w) - Math.floor(b / w) + w - 1;
      const dc = (a % w) - (b % w) + w - 1;
      idx[a * N + b] = dr * (2 * w - 1) + dc;
    }
  return idx;
}

/** The shifted-window mask, (nW, N, N) of 0 / −100, as the official `attn_mask` buffer. */
function shiftMask(H: number, W: number, w: number, shift: number): Float32Array {
  const label = new Int32Array(H * W);
  const band = (x: number, size: number) => (x < size - w ? 0 : x < size - shift ? 1 : 2);
  for (let r = 0; r < H; r++) for (let c = 0; c < W; c++) label[r * W + c] = band(r, H) * 3 + band(c, W);
  const order = windowOrder(H, W, w, w);
  const N = w * w;
  const nW = (H * W) / N;
  const mask = new Float32Array(nW * N * N);
  for (let k = 0; k < nW; k++)
    for (let a = 0; a < N; a++)
      for (let b = 0; b < N; b++) {
        const la = label[order[k * N + a]];
        const lb = label[order[k * N + b]];
        mask[(k * N + a) * N + b] = la === lb ? 0 : -100;
      }
  return mask;
}

/**
 * The relative position bias (plus mask) gathered from the table in the graph (training graphs):
 * (h, N, N), or (nW, h, N, N) with the mask.
 */
function biasUnfolded(g: Graph, table: ParamSpec, index: Int32Array, heads: number, N: number, masked: Float32Array | null): Value {
  const rows = op.gather(g, g.paramValue(table), Array.from(index), 0); // (N·N, h)
  const bias = op.reshape(g, op.transpose(g, rows, [1, 0]), [heads, N, N]); // (h, N, N)
  if (!masked) return bias;
  const nW = masked.length / (N * N);
  return op.add(g, bias, g.constant('attn_mask', [nW, 1, N, N], masked)); // (nW, h, N, N)
}

/** Swin's window softmax attention with relative position bias (and the mask when shifted). */
function windowAttention(
  g: Graph,
  x: Value,
  C: number,
  heads: number,
  w: number,
  masked: Float32Array | null,
  a: SwinArgs,
  layout: AttentionProbe['layout'],
): Value {
  const N = w * w;
  const d = C / heads;
  const lin = declareLinear(g, 'qkv', C, 3 * C, a.qkv_bias);
  const qkScale = a.qk_scale ?? d ** -0.5;
  probeSoftmax(g, x, x, { linear: lin, from: 0 }, { linear: lin, from: C }, { heads, dim: C, grid: [w, w], keyTokens: N, qkScale, layout });
  const qkv = project(g, x, lin, 0, 3 * C, scaledQuery(C, 3 * C, qkScale)); // (B', N, 3C)
  const [q, k, v] = op.split(g, qkv, 2, [C, C, C]).map(
    (t) => op.transpose(g, op.reshape(g, t, [-1, N, heads, d]), [0, 2, 1, 3]), // (B', h, N, d)
  );
  let attn = op.matmul(g, q, op.transpose(g, k, [0, 1, 3, 2])); // (B', h, N, N)
  const table = g.declareParam('relative_position_bias_table', [(2 * w - 1) ** 2, heads]);
  const index = relativePositionIndex(w);
  g.declareBuffer('relative_position_index', 'int64', [N, N], () => BigInt64Array.from(index, (i) => BigInt(i)));
  const nW = masked ? masked.length / (N * N) : 1;
  const biasDims = masked ? [nW, heads, N, N] : [heads, N, N];
  const bias = g.training
    ? biasUnfolded(g, table, index, heads, N, masked)
    : g.initializer(`${table.name}.bias`, 'float32', biasDims, (get) => {
        const t = get(table.name);
        const out = new Float32Array(nW * heads * N * N);
        for (let m = 0; m < nW; m++)
          for (let hh = 0; hh < heads; hh++)
            for (let e = 0; e < N * N; e++) {
              out[(m * heads + hh) * N * N + e] = t[index[e] * heads + hh] + (masked ? masked[m * N * N + e] : 0);
            }
        return out;
      });
  if (masked) {
    attn = op.reshape(g, attn, [-1, nW, heads, N, N]); // (B, nW, h, N, N)
    attn = op.reshape(g, op.add(g, attn, bias), [-1, heads, N, N]); // (B', h, N, N)
  } else attn = op.add(g, attn, bias);
  const out = op.matmul(g, op.softmax(g, attn, -1), v); // (B', h, N, d)
  const merged = op.reshape(g, op.transpose(g, out, [0, 2, 1, 3]), [-1, N, C]); // (B', N, C)
  return linear(g, merged, 'proj', C, C);
}

function block(g: Graph, x: Value, C: number, heads: number, res: [number, number], p: SwinBlockPlan, a: SwinArgs): Value {
  const [H, W] = res;
  const { window: w, shift } = p;
  const N = w * w;
  const order = windowOrder(H, W, w, w, shift);
  if (shift > 0) g.declareBuffer('attn_mask', 'float32', [(H * W) / N, N, N], () => shiftMask(H, W, w, shift));
  let y = layerNorm(g, x, 'norm1', C, 1e-5); // (B, L, C)
  if (!isIdentityPermutation(order)) y = op.gather(g, y, order, 1); // (B, L, C) in shifted window order
  y = op.reshape(g, y, [-1, N, C]); // (B', N, C)
  y = g.within('attn', 'attn', () => {
    const layout = { stageGrid: [H, W] as const, order };
    if (p.type === 'S') return windowAttention(g, y, C, heads, w, shift > 0 ? shiftMask(H, W, w, shift) : null, a, layout);
    const qkv = declareLinear(g, 'qkv', C, 3 * C, a.qkv_bias);
    const proj = declareLinear(g, 'proj', C, C);
    const o = focusedLinearAttention(
      g,
      { x: y, linear: qkv, from: 0 },
      { x: y, linear: qkv, from: C },
      { x: y, linear: qkv, from: 2 * C },
      {
        dim: C,
        heads,
        focusingFactor: a.focusing_factor,
        kernelSize: a.kernel_size,
        grid: [w, w],
        keyTokens: N,
        layout,
        ...ablation(a as unknown as Record<string, unknown>, 'swin'),
      },
    );
    return project(g, o, proj);
  });
  y = op.reshape(g, y, [-1, H * W, C]); // (B, L, C) in window order
  if (!isIdentityPermutation(order)) y = op.gather(g, y, inversePermutation(order), 1); // (B, L, C) in image order
  x = residual(g, x, y);
  const hidden = Math.floor(C * a.mlp_ratio);
  return residual(g, x, mlp(g, layerNorm(g, x, 'norm2', C, 1e-5), C, hidden));
}

function patchMerging(g: Graph, x: Value, C: number, res: [number, number]): Value {
  const [H, W] = res;
  const t = op.reshape(g, x, [-1, H / 2, 2, W / 2, 2, C]); // (B, H/2, row parity, W/2, col parity, C)
  const u = op.transpose(g, t, [0, 1, 3, 4, 2, 5]); // (B, H/2, W/2, col parity, row parity, C): x0 x1 x2 x3
  const m = op.reshape(g, u, [-1, (H / 2) * (W / 2), 4 * C]); // (B, L/4, 4C)
  const reduction = declareLinear(g, 'reduction', 4 * C, 2 * C, false);
  return project(g, layerNorm(g, m, 'norm', 4 * C, 1e-5), reduction);
}

function validate(a: SwinArgs, where: string): void {
  const n = a.depths.length;
  require_(n >= 1, where, "'depths' is empty");
  requireLength(a.num_heads, n, 'num_heads', where);
  const [ph, pw] = pair(a.patch_size);
  require_(ph === pw, where, `non-square patch_size ${ph}x${pw} is not supported`);
  require_(a.kernel_size % 2 === 1, where, `kernel_size must be odd (the official DWC pads by kernel_size // 2), found ${a.kernel_size}`);
  require_(
    /^[LSM]/.test(a.attn_type) && a.attn_type.length >= n,
    where,
    `'attn_type' needs one of L, S, M per stage, found '${a.attn_type}'`,
  );
  for (let i = 0; i < n; i++) {
    const t = a.attn_type[i];
    require_('LSM'.includes(t), where, `attn_type '${a.attn_type}' has '${t}' for stage ${i + 1}; expected L, S or M`);
    if (t === 'M')
      require_(
        /^\d+$/.test(a.attn_type.slice(n)),
        where,
        `attn_type '${a.attn_type}' has an M stage but no block count after the ${n} stage letters (e.g. 'LLMS2')`,
      );
  }
}

function build(g: Graph, input: Value, raw: Readonly<Record<string, unknown>>, where: string): BuiltModel {
  const a = raw as unknown as SwinArgs;
  validate(a, where);
  const [ph] = pair(a.patch_size);
  const [ih, iw] = pair(a.img_size);
  const pr: [number, number] = [Math.floor(ih / ph), Math.floor(iw / ph)];
  const n = a.depths.length;
  let x = g.within('patch_embed', 'patch_embed', () => {
    let t = imageToTokens(g, conv2d(g, input, 'proj', { inC: a.in_chans, outC: a.embed_dim, kernel: ph, stride: ph })); // (B, L, C)
    if (a.patch_norm) t = layerNorm(g, t, 'norm', a.embed_dim, 1e-5);
    return t;
  });
  if (a.ape) x = op.add(g, x, g.param('absolute_pos_embed', [1, pr[0] * pr[1], a.embed_dim]));
  const stages: Value[] = [];
  const grids: [number, number][] = [];
  const rates = dropPathRates(a.drop_path_rate, a.depths);
  for (let i = 0; i < n; i++) {
    const C = a.embed_dim * 2 ** i;
    const res: [number, number] = [Math.floor(pr[0] / 2 ** i), Math.floor(pr[1] / 2 ** i)];
    const stageType = a.attn_type[i] + (a.attn_type[i] === 'M' ? a.attn_type.slice(n) : '');
    const plans = planSwinStage(stageType, a.depths[i], a.window_size, res);
    require_(C % a.num_heads[i] === 0, where, `stage ${i + 1}: ${C} channels do not split into ${a.num_heads[i]} heads`);
    x = g.within(`stage${i + 1}`, `layers.${i}`, () => {
      plans.forEach((p, j) => {
        require_(
          res[0] % p.window === 0 && res[1] % p.window === 0,
          where,
          `stage ${i + 1} (${res[0]}x${res[1]} tokens) cannot be split into ${p.window}x${p.window} windows; the official model cannot run this configuration`,
        );
        const rate = rates[i][j];
        x = g.within(`block${j}`, `blocks.${j}`, () => g.withDropPath(rate, () => block(g, x, C, a.num_heads[i], res, p, a)));
      });
      if (i < n - 1) {
        require_(
          res[0] % 2 === 0 && res[1] % 2 === 0,
          where,
          `stage ${i + 1} has an odd resolution ${res[0]}x${res[1]}, which patch merging cannot halve`,
        );
        x = g.within('downsample', 'downsample', () => patchMerging(g, x, C, res));
      }
      return x;
    });
    stages.push(x);
    grids.push(i < n - 1 ? [res[0] / 2, res[1] / 2] : res);
  }
  const F = a.embed_dim * 2 ** (n - 1);
  const features = meanTokens(g, layerNorm(g, x, 'norm', F, 1e-5));
  const logits = a.num_classes > 0 ? linear(g, features, 'head', F, a.num_classes) : features;
  return { logits, features, stages, grids };
}

/** The FLatten-Swin family. */
export const swinFamily: Family = {
  name: 'swin',
  constructorName: 'FLattenSwinTransformer',
  officialFile: 'models/flatten_swin.py',
  schema,
  acceptsExtraArgs: true,
  variants,
  noWeightDecay: ['absolute_pos_embed'],
  noWeightDecayKeywords: ['relative_position_bias_table'],
  inputSize: (args) => pair(args.img_size as number | number[]),
  build,
};
