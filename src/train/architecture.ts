/**
 * The architecture a training run builds: `--arch` (a registered name or a config.json), or the
 * official config's `MODEL.TYPE` with its `MODEL.*` keys as `models/build.py` passes them to the
 * constructors. Keys given explicitly in the YAML or `--opts` (`MODEL.DROP_PATH_RATE`,
 * `MODEL.NUM_CLASSES`) override `--arch`'s own values; defaults never do.
 */
import { type Architecture, resolveArchitecture, withArgs } from '../models/registry.js';
import { FlattenError } from '../util/errors.js';
import { get, type TrainingConfig } from './config.js';

/** `MODEL.TYPE` values of the official configs and the registered names they build. */
const TYPES: Readonly<Record<string, string>> = {
  FLatten_CSWin_64_24181_tiny_224: 'flatten_cswin_t',
  FLatten_CSWin_64_24322_small_224: 'flatten_cswin_s',
  FLatten_CSWin_96_36292_base_224: 'flatten_cswin_b',
  FLatten_CSWin_96_36292_base_384: 'flatten_cswin_b_384',
  flatten_pvt_tiny: 'flatten_pvt_t',
  flatten_pvt_small: 'flatten_pvt_s',
  flatten_pvt_medium: 'flatten_pvt_m',
  flatten_pvt_large: 'flatten_pvt_l',
  ...Object.fromEntries([0, 1, 2, 3, 4, 5].map((i) => [`flatten_pvt_v2_b${i}`, `flatten_pvt_v2_b${i}`])),
};

/** What `models/build.py` passes for MODEL.TYPE. */
function fromModelType(cfg: TrainingConfig): Architecture {
  const type = String(get(cfg, 'MODEL.TYPE'));
  const v = (k: string) => get(cfg, k);
  const la = {
    drop_path_rate: v('MODEL.DROP_PATH_RATE'),
    focusing_factor: v('MODEL.LA.FOCUSING_FACTOR'),
    kernel_size: v('MODEL.LA.KERNEL_SIZE'),
    attn_type: v('MODEL.LA.ATTN_TYPE'),
  };
  if (type === 'flatten_swin') {
    return resolveArchitecture({
      family: 'swin',
      args: {
        img_size: v('DATA.IMG_SIZE'),
        patch_size: v('MODEL.SWIN.PATCH_SIZE'),
        in_chans: v('MODEL.SWIN.IN_CHANS'),
        num_classes: v('MODEL.NUM_CLASSES'),
        embed_dim: v('MODEL.SWIN.EMBED_DIM'),
        depths: v('MODEL.SWIN.DEPTHS'),
        num_heads: v('MODEL.SWIN.NUM_HEADS'),
        window_size: v('MODEL.SWIN.WINDOW_SIZE'),
        mlp_ratio: v('MODEL.SWIN.MLP_RATIO'),
        qkv_bias: v('MODEL.SWIN.QKV_BIAS'),
        qk_scale: v('MODEL.SWIN.QK_SCALE'),
        drop_rate: v('MODEL.DROP_RATE'),
        ape: v('MODEL.SWIN.APE'),
        patch_norm: v('MODEL.SWIN.PATCH_NORM'),
        ...la,
      },
    });
  }
  const name = TYPES[type];
  if (!name) {
    throw new FlattenError(
      'config',
      `MODEL.TYPE '${type}' is not one the official models/build.py builds (flatten_swin, ${Object.keys(TYPES).join(', ')}); or pass --arch`,
    );
  }
  const base = resolveArchitecture(name);
  if (base.family.name === 'cswin') {
    return withArgs(base, {
      img_size: v('DATA.IMG_SIZE'),
      in_chans: v('MODEL.SWIN.IN_CHANS'),
      num_classes: v('MODEL.NUM_CLASSES'),
      drop_rate: v('MODEL.DROP_RATE'),
      la_split_size: v('MODEL.LA.CSWIN_LA_SPLIT_SIZE'),
      ...la,
    });
  }
  return withArgs(base, {
    ...la,
    la_sr_ratios: String(v('MODEL.LA.PVT_LA_SR_RATIOS')),
    ...(cfg.explicit.has('MODEL.NUM_CLASSES') ? { num_classes: v('MODEL.NUM_CLASSES') } : {}),
  });
}

/**
 * Resolves the architecture to train: `base` (from `--arch`, already resolved) with the config's
 * explicit overrides, or the config's `MODEL.TYPE` without one.
 *
 * @example
 * ```ts
 * trainingArchitecture(loadConfig('cfgs/flatten_pvt_v2_b0.yaml'), undefined).name; // 'flatten_pvt_v2_b0'
 * ```
 */
export function trainingArchitecture(cfg: TrainingConfig, base: Architecture | undefined): Architecture {
  if (base === undefined) return fromModelType(cfg);
  const overrides: Record<string, unknown> = {};
  if (cfg.explicit.has('MODEL.DROP_PATH_RATE')) overrides.drop_path_rate = get(cfg, 'MODEL.DROP_PATH_RATE');
  if (cfg.explicit.has('MODEL.NUM_CLASSES')) overrides.num_classes = get(cfg, 'MODEL.NUM_CLASSES');
  return Object.keys(overrides).length ? withArgs(base, overrides) : base;
}
