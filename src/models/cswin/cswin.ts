/**
 * FLatten-CSwin (official `models/flatten_cswin.py`, `CSWinTransformer`): a convolutional stem, four
 * stages joined by Merge_Block convolutions, final norm, mean pooling, head. `L` blocks run focused
 * linear attention over the whole stage and add LePE; `S` blocks run CSwin's cross-shaped window
 * attention: vertical stripes on one half of the channels, horizontal stripes on the other, each with
 * LePE (SPEC.md §5).
 *
 * Dimension legend: B batch, R×R the stage grid, L = R² tokens, C channels, C' channels of one branch,
 * Hs×Ws a stripe, Ls = Hs·Ws tokens of a stripe, B' = B × stripes, h' heads of a branch, d head dim.
 */
import type { Graph, Value } from '../../graph/graph.js';
import {
  conv2d,
  declareLinear,
  dropPathRates,
  imageToTokens,
  layerNorm,
  type LinearParams,
  linear,
  meanTokens,
  gelu,
  project,
  residual,
  scaledQuery,
  tokensToImage,
} from '../../graph/layers.js';
import * as op from '../../graph/ops.js';
import { ABLATION_ARGS, ablation, arg, type ArgSchema, require_, requireLength } from '../args.js';
import { focusedLinearAttention } from '../attention/focused_linear.js';
import type { BuiltModel, Family } from '../family.js';
import { inversePermutation, isIdentityPermutation, windowOrder } from '../windows.js';

/** Official constructor arguments and defaults of `CSWinTransformer`. */
const schema: ArgSchema = {
  img_size: arg('int', 224),
  patch_size: arg('int', 16),
  in_chans: arg('int', 3),
  num_classes: arg('int', 1000),
  embed_dim: arg('int', 96),
  depth: arg('int[]', [2, 2, 6, 2]),
  split_size: arg('int[]', [1, 2, 7, 7]),
  la_split_size: arg('string', '1-2-7-7'),
  num_heads: arg('int[]', [2, 4, 8, 16]),
  mlp_ratio: arg('number', 4),
  qkv_bias: arg('bool', true),
  qk_scale: arg('number?', null),
  drop_rate: arg('number', 0),
  attn_drop_rate: arg('number', 0),
  drop_path_rate: arg('number', 0),
  hybrid_backbone: arg('ignored', null),
  use_chk: arg('bool', false),
  focusing_factor: arg('number', 3),
  kernel_size: arg('int', 5),
  attn_type: arg('string', 'LLLL'),
  ...ABLATION_ARGS,
};

/** The released FLatten-CSwin models (official factories plus `cfgs/flatten_cswin_*.yaml`). */
const released = { patch_size: 4, la_split_size: '56-28-14-7', attn_type: 'LLSS' };
const variants = {
  flatten_cswin_t: { ...released, embed_dim: 64, depth: [2, 4, 18, 1] },
  flatten_cswin_s: { ...released, embed_dim: 64, depth: [2, 4, 32, 2] },
  flatten_cswin_b: { ...released, embed_dim: 96, depth: [3, 6, 29, 2], num_heads: [4, 8, 16, 32] },
  flatten_cswin_b_384: {
    ...released,
    img_size: 384,
    embed_dim: 96,
    depth: [3, 6, 29, 2],
    split_size: [1, 2, 12, 12],
    num_heads: [4, 8, 16, 32],
    la_split_size: '96-48-24-12',
  },
};

interface CswinArgs {
  drop_path_rate: number;
  img_size: number;
  in_chans: number;
  num_classes: number;
  embed_dim: number;
  depth: number[];
  split_size: number[];
  la_split_size: string;
  num_heads: number[];
  mlp_ratio: number;
  qkv_bias: boolean;
  qk_scale: number | null;
  focusing_factor: number;
  kernel_size: number;
  attn_type: string;
}

/**
 * One branch of cross-shaped window attention (`LePEAttention`): q, k, v (B, L, C') → (B, L, C').
 * V is turned channel-major once: LePE's 3×3 depthwise `get_v` reads it as an image, and the output
 * is computed transposed, vᵀ·attnᵀ, so that LePE adds to it in place and one transpose brings it back.
 */
function stripeAttention(g: Graph, q: Value, k: Value, v: Value, R: number, hs: number, ws: number, heads: number): Value {
  const C = g.shape(q)[2];
  const d = C / heads;
  const Ls = hs * ws;
  const order = windowOrder(R, R, hs, ws);
  const stripes = (t: Value) => op.reshape(g, isIdentityPermutation(order) ? t : op.gather(g, t, order, 1), [-1, Ls, C]); // (B', Ls, C')
  const toHeads = (t: Value) => op.transpose(g, op.reshape(g, t, [-1, Ls, heads, d]), [0, 2, 1, 3]); // (B', h', Ls, d)
  const vT = op.transpose(g, stripes(v), [0, 2, 1]); // (B', C', Ls)
  const pe = conv2d(g, op.reshape(g, vT, [-1, C, hs, ws]), 'get_v', { inC: C, outC: C, kernel: 3, pad: 1, groups: C }); // (B', C', Hs, Ws)
  const qh = toHeads(stripes(q)); // (B', h', Ls, d), already scaled
  const kT = op.transpose(g, toHeads(stripes(k)), [0, 1, 3, 2]); // (B', h', d, Ls)
  const attn = op.softmax(g, op.matmul(g, qh, kT), -1); // (B', h', Ls, Ls)
  const outT = op.matmul(g, op.reshape(g, vT, [-1, heads, d, Ls]), op.transpose(g, attn, [0, 1, 3, 2])); // (B', h', d, Ls)
  const withPe = op.add(g, op.reshape(g, outT, [-1, C, Ls]), op.reshape(g, pe, [-1, C, Ls])); // (B', C', Ls)
  const merged = op.reshape(g, op.transpose(g, withPe, [0, 2, 1]), [-1, R * R, C]); // (B, L, C') in stripe order
  return isIdentityPermutation(order) ? merged : op.gather(g, merged, inversePermutation(order), 1); // (B, L, C')
}

/** The `L` branch: focused linear attention over the whole R×R stage, plus LePE. */
function linearBranch(g: Graph, img: Value, qkv: LinearParams, R: number, heads: number, a: CswinArgs): Value {
  const C = qkv.inF;
  const shape = {
    dim: C,
    heads,
    focusingFactor: a.focusing_factor,
    kernelSize: a.kernel_size,
    grid: [R, R] as const,
    keyTokens: R * R,
    ...ablation(a as unknown as Record<string, unknown>, 'cswin'),
  };
  // LePE's get_v comes before the DWC in the official module
  const [w, b] = g.within('get_v', 'get_v', () => [g.declareParam('weight', [C, 1, 3, 3]), g.declareParam('bias', [C])]);
  const lepeConv = (vImage: Value) => op.conv(g, vImage, g.paramValue(w), g.paramValue(b), { pad: 1, groups: C }); // (B, C, R, R)
  const proj = (from: number) => ({ x: img, linear: qkv, from });
  return focusedLinearAttention(g, proj(0), proj(C), proj(2 * C), shape, { onValues: lepeConv }); // (B, L, C)
}

interface BlockPlan {
  type: 'L' | 'S';
  split: number;
  branches: 1 | 2;
}

function block(g: Graph, x: Value, C: number, heads: number, R: number, p: BlockPlan, a: CswinArgs): Value {
  const qkv = declareLinear(g, 'qkv', C, 3 * C, a.qkv_bias);
  const img = layerNorm(g, x, 'norm1', C, 1e-5);
  const proj = declareLinear(g, 'proj', C, C);
  const d = C / heads;
  let attended: Value;
  if (p.type === 'L') attended = g.within('attn0', 'attns.0', () => linearBranch(g, img, qkv, R, heads, a));
  else if (p.branches === 1) {
    const [q, k, v] = op.split(g, project(g, img, qkv, 0, 3 * C, scaledQuery(C, 3 * C, a.qk_scale ?? d ** -0.5)), 2, [C, C, C]); // (B, L, C) each
    attended = g.within('attn0', 'attns.0', () => stripeAttention(g, q, k, v, R, R, R, heads));
  } else {
    const h = C / 2;
    const parts = op.split(g, project(g, img, qkv, 0, 3 * C, scaledQuery(C, 3 * C, a.qk_scale ?? d ** -0.5)), 2, [h, h, h, h, h, h]); // q0 q1 k0 k1 v0 v1, (B, L, C/2) each
    const x0 = g.within('attn0', 'attns.0', () => stripeAttention(g, parts[0], parts[2], parts[4], R, R, p.split, heads / 2));
    const x1 = g.within('attn1', 'attns.1', () => stripeAttention(g, parts[1], parts[3], parts[5], R, p.split, R, heads / 2));
    attended = op.concat(g, [x0, x1], 2); // (B, L, C)
  }
  x = residual(g, x, project(g, attended, proj));
  const hidden = Math.floor(C * a.mlp_ratio);
  const [fc1, fc2] = g.within('mlp', 'mlp', () => [declareLinear(g, 'fc1', C, hidden), declareLinear(g, 'fc2', hidden, C)]);
  const z = layerNorm(g, x, 'norm2', C, 1e-5);
  return residual(
    g,
    x,
    g.within('mlp', 'mlp', () => project(g, gelu(g, project(g, z, fc1)), fc2)),
  );
}

function plan(a: CswinArgs, stage: number, R: number, where: string): BlockPlan[] {
  const laSplits = a.la_split_size.split('-');
  const out: BlockPlan[] = [];
  const letter = a.attn_type[stage];
  for (let j = 0; j < a.depth[stage]; j++) {
    const type: 'L' | 'S' = letter !== 'M' ? (letter as 'L' | 'S') : j < Number.parseInt(a.attn_type.slice(4), 10) ? 'L' : 'S';
    const split = type === 'L' ? Number.parseInt(laSplits[stage], 10) : a.split_size[stage];
    const branches = stage === 3 || R === split ? 1 : 2;
    if (type === 'L') {
      require_(
        branches === 1,
        where,
        `stage ${stage + 1}: la_split_size ${split} differs from the stage resolution ${R}; focused linear attention in stripes breaks the official code, so la_split_size must equal the stage resolution`,
      );
    } else if (branches === 2) {
      require_(R % split === 0, where, `stage ${stage + 1}: the ${R}x${R} grid cannot be cut into stripes of ${split}`);
      require_(heads(a, stage) % 2 === 0, where, `stage ${stage + 1}: two branches need an even number of heads, found ${heads(a, stage)}`);
    }
    out.push({ type, split, branches });
  }
  return out;
}

const heads = (a: CswinArgs, i: number) => a.num_heads[i];

function validate(a: CswinArgs, where: string): void {
  requireLength(a.depth, 4, 'depth', where);
  requireLength(a.num_heads, 4, 'num_heads', where);
  requireLength(a.split_size, 4, 'split_size', where);
  requireLength(a.la_split_size.split('-'), 4, 'la_split_size', where);
  requireLength(a.attn_type, 4, 'attn_type', where);
  require_(a.kernel_size % 2 === 1, where, `kernel_size must be odd (the official DWC pads by kernel_size // 2), found ${a.kernel_size}`);
  for (let i = 0; i < 4; i++) {
    require_(
      'LSM'.includes(a.attn_type[i]),
      where,
      `attn_type '${a.attn_type}' has '${a.attn_type[i]}' for stage ${i + 1}; expected L, S or M`,
    );
    if (a.attn_type[i] === 'M')
      require_(
        /^\d+$/.test(a.attn_type.slice(4)),
        where,
        `attn_type '${a.attn_type}' has an M stage but no block count after the four stage letters`,
      );
  }
}

function build(g: Graph, input: Value, raw: Readonly<Record<string, unknown>>, where: string): BuiltModel {
  const a = raw as unknown as CswinArgs;
  validate(a, where);
  let C = a.embed_dim;
  let x = g.within('stem', 'stage1_conv_embed', () => {
    const c = conv2d(g, input, 'proj', { inC: a.in_chans, outC: C, kernel: 7, stride: 4, pad: 2 }, '0'); // (B, C, R, R)
    require_(
      g.shape(c)[2] === Math.floor(a.img_size / 4),
      where,
      `the stem makes a ${g.shape(c)[2]}x${g.shape(c)[3]} grid but the blocks expect ${Math.floor(a.img_size / 4)}`,
    );
    return layerNorm(g, imageToTokens(g, c), 'norm', C, 1e-5, '2'); // (B, L, C)
  });
  const stages: Value[] = [];
  const grids: [number, number][] = [];
  const rates = dropPathRates(a.drop_path_rate, a.depth);
  for (let i = 0; i < 4; i++) {
    const R = Math.floor(a.img_size / 2 ** (i + 2));
    if (i > 0) {
      const prevR = Math.floor(a.img_size / 2 ** (i + 1));
      x = g.within(`stage${i + 1}.merge`, `merge${i}`, () => {
        const c = conv2d(g, tokensToImage(g, x, prevR, prevR), 'conv', { inC: C, outC: 2 * C, kernel: 3, stride: 2, pad: 1 }); // (B, 2C, R, R)
        require_(
          g.shape(c)[2] === R,
          where,
          `stage ${i + 1} gets a ${g.shape(c)[2]}x${g.shape(c)[2]} grid but its blocks expect ${R}x${R}`,
        );
        return layerNorm(g, imageToTokens(g, c), 'norm', 2 * C, 1e-5); // (B, L, 2C)
      });
      C *= 2;
    }
    require_(C % a.num_heads[i] === 0, where, `stage ${i + 1}: ${C} channels do not split into ${a.num_heads[i]} heads`);
    plan(a, i, R, where).forEach((p, j) => {
      const rate = rates[i][j];
      x = g.within(`stage${i + 1}.block${j}`, `stage${i + 1}.${j}`, () =>
        g.withDropPath(rate, () => block(g, x, C, a.num_heads[i], R, p, a)),
      );
    });
    stages.push(x);
    grids.push([R, R]);
  }
  const features = meanTokens(g, layerNorm(g, x, 'norm', C, 1e-5));
  const logits = a.num_classes > 0 ? linear(g, features, 'head', C, a.num_classes) : features;
  return { logits, features, stages, grids };
}

/** The FLatten-CSwin family. */
export const cswinFamily: Family = {
  name: 'cswin',
  constructorName: 'CSWinTransformer',
  officialFile: 'models/flatten_cswin.py',
  schema,
  acceptsExtraArgs: false,
  variants,
  noWeightDecay: ['pos_embed', 'cls_token'],
  noWeightDecayKeywords: [],
  inputSize: (args) => [args.img_size as number, args.img_size as number],
  build,
};
