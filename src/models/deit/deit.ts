/**
 * DeiT and FLatten-DeiT (the paper's Table 4 and rank study; the official repository has no DeiT
 * code). DeiT is timm's `VisionTransformer` as DeiT's factories build it (LayerNorm eps 1e-6, class
 * token, learned position embedding), so official DeiT checkpoints load as `deit_t` / `deit_s`.
 * FLatten-DeiT replaces every block's softmax attention by focused linear attention: the class token
 * joins the linear attention like any other token, and the DWC runs on the 14×14 patch tokens only
 * (it needs a square grid), adding nothing to the class token.
 *
 * Dimension legend: B batch, N = 1 + H·W tokens (class token first), C channels, h heads, d = C/h.
 */
import type { Graph, Value } from '../../graph/graph.js';
import {
  conv2d,
  declareLinear,
  dropPathRates,
  imageToTokens,
  layerNorm,
  linear,
  mlp,
  probeSoftmax,
  project,
  residual,
  scaledQuery,
} from '../../graph/layers.js';
import * as op from '../../graph/ops.js';
import { ABLATION_ARGS, ablation, arg, type ArgSchema, require_ } from '../args.js';
import { focusedLinearAttention } from '../attention/focused_linear.js';
import type { BuiltModel, Family } from '../family.js';

/** timm `VisionTransformer` arguments and defaults, plus the attention choice. */
const schema: ArgSchema = {
  img_size: arg('int', 224),
  patch_size: arg('int', 16),
  in_chans: arg('int', 3),
  num_classes: arg('int', 1000),
  embed_dim: arg('int', 768),
  depth: arg('int', 12),
  num_heads: arg('int', 12),
  mlp_ratio: arg('number', 4),
  qkv_bias: arg('bool', true),
  qk_scale: arg('number?', null),
  drop_rate: arg('number', 0),
  attn_drop_rate: arg('number', 0),
  drop_path_rate: arg('number', 0),
  /** `S` softmax attention in every block (DeiT), `L` focused linear attention (FLatten-DeiT). */
  attn_type: arg('string', 'S'),
  focusing_factor: arg('number', 3),
  kernel_size: arg('int', 5),
  ...ABLATION_ARGS,
};

/** DeiT-Tiny and -Small, with softmax or focused linear attention. */
const variants = {
  deit_t: { embed_dim: 192, num_heads: 3 },
  deit_s: { embed_dim: 384, num_heads: 6 },
  flatten_deit_t: { embed_dim: 192, num_heads: 3, attn_type: 'L' },
  flatten_deit_s: { embed_dim: 384, num_heads: 6, attn_type: 'L' },
};

interface DeitArgs {
  drop_path_rate: number;
  img_size: number;
  patch_size: number;
  in_chans: number;
  num_classes: number;
  embed_dim: number;
  depth: number;
  num_heads: number;
  mlp_ratio: number;
  qkv_bias: boolean;
  qk_scale: number | null;
  attn_type: string;
  focusing_factor: number;
  kernel_size: number;
}

/** timm's `Attention`: softmax((q·d^-½) kᵀ) v over all N tokens. x (B, N, C) → (B, N, C). */
function softmaxAttention(g: Graph, x: Value, C: number, heads: number, a: DeitArgs): Value {
  const N = g.shape(x)[1];
  const d = C / heads;
  const lin = declareLinear(g, 'qkv', C, 3 * C, a.qkv_bias);
  const qkScale = a.qk_scale ?? d ** -0.5;
  const side = Math.round(Math.sqrt(N - 1));
  probeSoftmax(
    g,
    x,
    x,
    { linear: lin, from: 0 },
    { linear: lin, from: C },
    { heads, dim: C, grid: [side, side], prefix: 1, keyTokens: N, qkScale },
  );
  const qkv = project(g, x, lin, 0, 3 * C, scaledQuery(C, 3 * C, qkScale)); // (B, N, 3C)
  const [q, k, v] = op.split(g, qkv, 2, [C, C, C]).map(
    (t) => op.transpose(g, op.reshape(g, t, [-1, N, heads, d]), [0, 2, 1, 3]), // (B, h, N, d)
  );
  const attn = op.softmax(g, op.matmul(g, q, op.transpose(g, k, [0, 1, 3, 2])), -1); // (B, h, N, N)
  const out = op.reshape(g, op.transpose(g, op.matmul(g, attn, v), [0, 2, 1, 3]), [-1, N, C]); // (B, N, C)
  return linear(g, out, 'proj', C, C);
}

function build(g: Graph, input: Value, raw: Readonly<Record<string, unknown>>, where: string): BuiltModel {
  const a = raw as unknown as DeitArgs;
  const C = a.embed_dim;
  require_(
    a.attn_type === 'S' || a.attn_type === 'L',
    where,
    `attn_type must be 'S' (softmax) or 'L' (focused linear), found '${a.attn_type}'`,
  );
  require_(C % a.num_heads === 0, where, `${C} channels do not split into ${a.num_heads} heads`);
  require_(a.kernel_size % 2 === 1, where, `kernel_size must be odd, found ${a.kernel_size}`);
  const side = Math.floor(a.img_size / a.patch_size);
  const N = 1 + side * side;
  const patches = g.within('patch_embed', 'patch_embed', () =>
    imageToTokens(g, conv2d(g, input, 'proj', { inC: a.in_chans, outC: C, kernel: a.patch_size, stride: a.patch_size })),
  ); // (B, H·W, C)
  const cls = op.expandToBatch(g, g.param('cls_token', [1, 1, C]), patches); // (B, 1, C)
  let x = op.add(g, op.concat(g, [cls, patches], 1), g.param('pos_embed', [1, N, C])); // (B, N, C)
  const kind = ablation(raw, where);
  const [rates] = dropPathRates(a.drop_path_rate, [a.depth]);
  for (let i = 0; i < a.depth; i++) {
    x = g.within(`stage1.block${i}`, `blocks.${i}`, () =>
      g.withDropPath(rates[i], () => {
        const y = layerNorm(g, x, 'norm1', C, 1e-6);
        const attn = g.within('attn', 'attn', () => {
          if (a.attn_type === 'S') return softmaxAttention(g, y, C, a.num_heads, a);
          const qkv = declareLinear(g, 'qkv', C, 3 * C, a.qkv_bias);
          const out = declareLinear(g, 'proj', C, C);
          const proj = (from: number) => ({ x: y, linear: qkv, from });
          const o = focusedLinearAttention(g, proj(0), proj(C), proj(2 * C), {
            dim: C,
            heads: a.num_heads,
            focusingFactor: a.focusing_factor,
            kernelSize: a.kernel_size,
            grid: [side, side],
            keyTokens: N,
            prefixTokens: 1,
            ...kind,
          });
          return project(g, o, out);
        });
        const r = residual(g, x, attn);
        return residual(g, r, mlp(g, layerNorm(g, r, 'norm2', C, 1e-6), C, Math.floor(C * a.mlp_ratio)));
      }),
    );
  }
  const normed = layerNorm(g, x, 'norm', C, 1e-6);
  const features = op.reshape(g, op.slice(g, normed, 1, 0, 1), [-1, C]); // (B, C): the class token
  const logits = a.num_classes > 0 ? linear(g, features, 'head', C, a.num_classes) : features;
  return { logits, features, stages: [x], grids: [[side, side]] };
}

/** The DeiT family (softmax or focused linear attention). */
export const deitFamily: Family = {
  name: 'deit',
  constructorName: 'VisionTransformer',
  officialFile: 'timm/models/vision_transformer.py (DeiT factories); FLatten-DeiT from the paper',
  schema,
  acceptsExtraArgs: false,
  variants,
  noWeightDecay: ['pos_embed', 'cls_token', 'dist_token'],
  noWeightDecayKeywords: [],
  inputSize: (args) => [args.img_size as number, args.img_size as number],
  build,
};
