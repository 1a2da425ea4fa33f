/**
 * FLatten-PVTv2 (official `models/flatten_pvt_v2.py`, `PyramidVisionTransformerV2`): overlapping
 * patch embeddings (Conv 7/4/3 then 3/2/1, + LayerNorm), blocks with a depthwise conv inside the MLP,
 * a LayerNorm after each stage, mean pooling, head; no position embedding (SPEC.md §4).
 *
 * Dimension legend: B batch, C channels, H×W the stage's token grid, N = H·W tokens.
 */
import type { Graph, Value } from '../../graph/graph.js';
import { conv2d, dropPathRates, imageToTokens, layerNorm, linear, meanTokens, tokensToImage } from '../../graph/layers.js';
import { ablation, arg, require_ } from '../args.js';
import type { BuiltModel, Family } from '../family.js';
import { pvtBlock } from './block.js';
import { type PvtArgs, pvtCommonSchema, stageSrRatio, validatePvt } from './common.js';

/** The released FLatten-PVTv2 models (official factories plus `cfgs/flatten_pvt_v2_*.yaml`). */
const released = {
  patch_size: 4,
  embed_dims: [64, 128, 320, 512],
  num_heads: [1, 2, 5, 8],
  mlp_ratios: [8, 8, 4, 4],
  qkv_bias: true,
  la_sr_ratios: '1111',
};
const variants = {
  flatten_pvt_v2_b0: { ...released, embed_dims: [32, 64, 160, 256], depths: [2, 2, 2, 2] },
  flatten_pvt_v2_b1: { ...released, depths: [2, 2, 2, 2] },
  flatten_pvt_v2_b2: { ...released, depths: [3, 4, 6, 3] },
  flatten_pvt_v2_b3: { ...released, depths: [3, 4, 18, 3] },
  flatten_pvt_v2_b4: { ...released, depths: [3, 8, 27, 3] },
  flatten_pvt_v2_b5: { ...released, mlp_ratios: [4, 4, 4, 4], depths: [3, 6, 40, 3] },
};

function build(g: Graph, input: Value, raw: Readonly<Record<string, unknown>>, where: string): BuiltModel {
  const a = raw as unknown as PvtArgs;
  validatePvt(a, where);
  let x = input;
  let inC = a.in_chans;
  const stages: Value[] = [];
  const grids: [number, number][] = [];
  const rates = dropPathRates(a.drop_path_rate, a.depths);
  for (let i = 0; i < a.num_stages; i++) {
    const C = a.embed_dims[i];
    const [kernel, stride] = i === 0 ? [7, 4] : [3, 2];
    const peSize = Math.floor((i === 0 ? a.img_size : Math.floor(a.img_size / 2 ** (i + 1))) / stride);
    let H = 0;
    let W = 0;
    x = g.within(`stage${i + 1}.patch_embed`, `patch_embed${i + 1}`, () => {
      const img = conv2d(g, x, 'proj', { inC, outC: C, kernel, stride, pad: Math.floor(kernel / 2) }); // (B, C, H, W)
      [, , H, W] = g.shape(img);
      return layerNorm(g, imageToTokens(g, img), 'norm', C, 1e-5); // (B, N, C)
    });
    const sr = stageSrRatio(a, i);
    for (let j = 0; j < a.depths[i]; j++) {
      const rate = rates[i][j];
      x = g.within(`stage${i + 1}.block${j}`, `block${i + 1}.${j}`, () =>
        g.withDropPath(rate, () =>
          pvtBlock(
            g,
            x,
            {
              type: a.attn_type[i] as 'L' | 'S',
              dim: C,
              heads: a.num_heads[i],
              grid: [H, W],
              srRatio: sr,
              numPatches: peSize * peSize,
              qkvBias: a.qkv_bias,
              qkScale: a.qk_scale,
              linear: a.linear === true,
              focusingFactor: a.focusing_factor,
              kernelSize: a.kernel_size,
              ...ablation(raw, where),
            },
            Math.floor(C * a.mlp_ratios[i]),
            true,
            where,
          ),
        ),
      );
    }
    x = g.within(`stage${i + 1}`, '', () => layerNorm(g, x, 'norm', C, 1e-6, `norm${i + 1}`));
    stages.push(x);
    grids.push([H, W]);
    require_(H >= 1, where, `stage ${i + 1} has no tokens`);
    if (i < a.num_stages - 1) x = tokensToImage(g, x, H, W); // (B, C, H, W)
    inC = C;
  }
  const features = meanTokens(g, x);
  const logits = a.num_classes > 0 ? linear(g, features, 'head', a.embed_dims[3], a.num_classes) : features;
  return { logits, features, stages, grids };
}

/** The FLatten-PVTv2 family. */
export const pvtV2Family: Family = {
  name: 'pvt_v2',
  constructorName: 'PyramidVisionTransformerV2',
  officialFile: 'models/flatten_pvt_v2.py',
  schema: { ...pvtCommonSchema, linear: arg('bool', false) },
  acceptsExtraArgs: false,
  variants,
  noWeightDecay: ['pos_embed1', 'pos_embed2', 'pos_embed3', 'pos_embed4', 'cls_token'],
  noWeightDecayKeywords: [],
  convInit: 'fan_out',
  inputSize: (args) => [args.img_size as number, args.img_size as number],
  build,
};
