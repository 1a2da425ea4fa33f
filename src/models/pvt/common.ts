/**
 * What FLatten-PVT and FLatten-PVTv2 share: their constructor arguments, the per-stage attention
 * choice (`attn_type` letter, `sr_ratios` for `S`, `la_sr_ratios` digit for `L`) and argument checks.
 */
import { ABLATION_ARGS, arg, type ArgSchema, require_, requireLength } from '../args.js';

/** Arguments common to `PyramidVisionTransformer` and `PyramidVisionTransformerV2`, with defaults. */
export const pvtCommonSchema: ArgSchema = {
  img_size: arg('int', 224),
  patch_size: arg('int', 16),
  in_chans: arg('int', 3),
  num_classes: arg('int', 1000),
  embed_dims: arg('int[]', [64, 128, 256, 512]),
  num_heads: arg('int[]', [1, 2, 4, 8]),
  mlp_ratios: arg('number[]', [4, 4, 4, 4]),
  qkv_bias: arg('bool', false),
  qk_scale: arg('number?', null),
  drop_rate: arg('number', 0),
  attn_drop_rate: arg('number', 0),
  drop_path_rate: arg('number', 0),
  depths: arg('int[]', [3, 4, 6, 3]),
  sr_ratios: arg('int[]', [8, 4, 2, 1]),
  la_sr_ratios: arg('string', '8421'),
  num_stages: arg('int', 4),
  focusing_factor: arg('number', 3),
  kernel_size: arg('int', 5),
  attn_type: arg('string', 'LLLL'),
  ...ABLATION_ARGS,
};

/** The resolved arguments both PVT builders read. */
export interface PvtArgs {
  drop_path_rate: number;
  img_size: number;
  patch_size: number;
  in_chans: number;
  num_classes: number;
  embed_dims: number[];
  num_heads: number[];
  mlp_ratios: number[];
  qkv_bias: boolean;
  qk_scale: number | null;
  depths: number[];
  sr_ratios: number[];
  la_sr_ratios: string;
  num_stages: number;
  focusing_factor: number;
  kernel_size: number;
  attn_type: string;
  linear?: boolean;
  kernel_function: string;
  dwc: boolean;
}

/** Checks what the official constructor and forward pass would reject. */
export function validatePvt(a: PvtArgs, where: string): void {
  const n = a.num_stages;
  require_(n >= 1 && n <= 4, where, `num_stages must be 1 to 4, found ${n}`);
  for (const [name, v] of [
    ['embed_dims', a.embed_dims],
    ['num_heads', a.num_heads],
    ['mlp_ratios', a.mlp_ratios],
    ['depths', a.depths],
    ['attn_type', a.attn_type],
  ] as const) {
    requireLength(v, n, name, where);
  }
  require_(a.embed_dims.length >= 4, where, "'embed_dims' needs 4 entries (the official head and norm read embed_dims[3])");
  require_(
    a.embed_dims[n - 1] === a.embed_dims[3],
    where,
    'the head reads embed_dims[3] but the last stage has embed_dims[num_stages-1] channels',
  );
  require_(a.kernel_size % 2 === 1, where, `kernel_size must be odd (the official DWC pads by kernel_size // 2), found ${a.kernel_size}`);
  for (let i = 0; i < n; i++) {
    const t = a.attn_type[i];
    require_(t === 'L' || t === 'S', where, `attn_type '${a.attn_type}' has '${t}' for stage ${i + 1}; expected L or S`);
    if (t === 'L')
      require_(/^\d$/.test(a.la_sr_ratios[i] ?? ''), where, `la_sr_ratios '${a.la_sr_ratios}' needs a digit for stage ${i + 1}`);
    else require_(a.sr_ratios[i] !== undefined, where, `sr_ratios needs an entry for stage ${i + 1}`);
    require_(
      a.embed_dims[i] % a.num_heads[i] === 0,
      where,
      `stage ${i + 1}: ${a.embed_dims[i]} channels do not split into ${a.num_heads[i]} heads`,
    );
  }
}

/** The spatial-reduction ratio of stage `i`, as the constructor picks it. */
export function stageSrRatio(a: PvtArgs, i: number): number {
  return a.attn_type[i] === 'S' ? a.sr_ratios[i] : Number.parseInt(a.la_sr_ratios[i], 10);
}
