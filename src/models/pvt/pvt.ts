/**
 * FLatten-PVT (official `models/flatten_pvt.py`, `PyramidVisionTransformer`): per stage a patch
 * embedding (Conv k=s=patch + LayerNorm), a learned position embedding, blocks; no final norm (the
 * checkpoint's `norm` is never used), mean pooling, head (SPEC.md §4).
 *
 * Dimension legend: B batch, C channels, H×W the stage's token grid, N = H·W tokens.
 */
import type { Graph, ParamSpec, Value } from '../../graph/graph.js';
import { conv2d, dropPathRates, imageToTokens, layerNorm, linear, meanTokens, tokensToImage } from '../../graph/layers.js';
import * as op from '../../graph/ops.js';
import { ablation, require_ } from '../args.js';
import type { BuiltModel, Family } from '../family.js';
import { pvtBlock } from './block.js';
import { type PvtArgs, pvtCommonSchema, stageSrRatio, validatePvt } from './common.js';
import { bilinearTokens } from './resample.js';

/** The released FLatten-PVT models (official factories plus `cfgs/flatten_pvt_*.yaml`). */
const released = {
  patch_size: 4,
  embed_dims: [64, 128, 320, 512],
  num_heads: [1, 2, 5, 8],
  mlp_ratios: [8, 8, 4, 4],
  qkv_bias: true,
  la_sr_ratios: '1111',
};
const variants = {
  flatten_pvt_t: { ...released, depths: [2, 2, 2, 2] },
  flatten_pvt_s: { ...released, depths: [3, 4, 6, 3] },
  flatten_pvt_m: { ...released, depths: [3, 4, 18, 3] },
  flatten_pvt_l: { ...released, depths: [3, 8, 27, 3] },
};

/**
 * A stage's position embedding in a training graph: the parameter itself, or bilinearly resized to
 * the stage grid as a constant (H·W, P) matrix applied to it. (1, H·W, C).
 */
function posUnfolded(g: Graph, spec: ParamSpec, resize: { C: number; peSize: number; H: number; W: number } | null): Value {
  const pos = g.paramValue(spec); // (1, P, C)
  if (!resize) return pos;
  const P = resize.peSize * resize.peSize;
  const identity = new Float32Array(P * P);
  for (let i = 0; i < P; i++) identity[i * P + i] = 1;
  const m = bilinearTokens(identity, P, resize.peSize, resize.peSize, resize.H, resize.W); // (H·W, P)
  return op.matmul(g, g.constant('pos_resize', [resize.H * resize.W, P], m), pos); // (1, H·W, C)
}

function build(g: Graph, input: Value, raw: Readonly<Record<string, unknown>>, where: string): BuiltModel {
  const a = raw as unknown as PvtArgs;
  validatePvt(a, where);
  let x = input;
  let inC = a.in_chans;
  let [inH, inW] = [a.img_size, a.img_size];
  let firstPatches = 0;
  const stages: Value[] = [];
  const grids: [number, number][] = [];
  const rates = dropPathRates(a.drop_path_rate, a.depths);
  for (let i = 0; i < a.num_stages; i++) {
    const C = a.embed_dims[i];
    const patch = i === 0 ? a.patch_size : 2;
    const peSize = Math.floor((i === 0 ? a.img_size : Math.floor(a.img_size / 2 ** (i + 1))) / patch);
    const numPatches = peSize * peSize;
    if (i === 0) firstPatches = numPatches;
    const H = Math.floor(inH / patch);
    const W = Math.floor(inW / patch);
    require_(H >= 1 && W >= 1, where, `stage ${i + 1} has no tokens left for a ${a.img_size}px input`);
    const tokens = g.within(`stage${i + 1}.patch_embed`, `patch_embed${i + 1}`, () => {
      const t = imageToTokens(g, conv2d(g, x, 'proj', { inC, outC: C, kernel: patch, stride: patch })); // (B, N, C)
      return layerNorm(g, t, 'norm', C, 1e-5);
    });
    const posSpec = g.within(`stage${i + 1}`, '', () => g.declareParam('pos_embed', [1, numPatches, C], `pos_embed${i + 1}`));
    const pos = g.training
      ? posUnfolded(g, posSpec, H * W === firstPatches ? null : { C, peSize, H, W })
      : g.initializer(posSpec.name, 'float32', [1, H * W, C], (get) =>
          H * W === firstPatches ? get(posSpec.name) : bilinearTokens(get(posSpec.name), C, peSize, peSize, H, W),
        );
    x = op.add(g, tokens, pos); // (B, N, C)
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
              numPatches,
              qkvBias: a.qkv_bias,
              qkScale: a.qk_scale,
              linear: false,
              focusingFactor: a.focusing_factor,
              kernelSize: a.kernel_size,
              ...ablation(raw, where),
            },
            Math.floor(C * a.mlp_ratios[i]),
            false,
            where,
          ),
        ),
      );
    }
    stages.push(x);
    grids.push([H, W]);
    if (i < a.num_stages - 1) x = tokensToImage(g, x, H, W); // (B, C, H, W)
    inC = C;
    [inH, inW] = [H, W];
  }
  g.declareParam('norm.weight', [a.embed_dims[3]]);
  g.declareParam('norm.bias', [a.embed_dims[3]]);
  const features = meanTokens(g, x);
  const logits = a.num_classes > 0 ? linear(g, features, 'head', a.embed_dims[3], a.num_classes) : features;
  return { logits, features, stages, grids };
}

/** The FLatten-PVT family. */
export const pvtFamily: Family = {
  name: 'pvt',
  constructorName: 'PyramidVisionTransformer',
  officialFile: 'models/flatten_pvt.py',
  schema: pvtCommonSchema,
  acceptsExtraArgs: false,
  variants,
  noWeightDecay: ['cls_token'],
  noWeightDecayKeywords: [],
  inputSize: (args) => [args.img_size as number, args.img_size as number],
  build,
};
