/**
 * The official training configuration (`config.py`): every key with its default, the official YAML
 * files (`cfgs/*.yaml`, with `BASE` includes; read by config_file.ts) merged on top, then
 * `--opts KEY VALUE` pairs, as yacs does it — an unknown key is an error, a value is coerced to the
 * type of the key's default.
 */
import { parse } from 'yaml';
import { FlattenError } from '../util/errors.js';

/** A config value: what yacs allows. */
export type ConfigValue = number | string | boolean | null | readonly ConfigValue[] | ConfigTree;

/** A config node. */
export interface ConfigTree {
  [key: string]: ConfigValue;
}

/** Sections that accept keys the defaults do not list (yacs `new_allowed=True`). */
const OPEN_SECTIONS = new Set(['MODEL.SWIN_HR', 'MODEL.SWIN_LRVIT', 'MODEL.PVD']);

/** `config.py`'s defaults. */
export function defaultConfig(): ConfigTree {
  return {
    BASE: [''],
    DATA: {
      BATCH_SIZE: 128,
      DATA_PATH: '',
      DATASET: 'imagenet',
      IMG_SIZE: 224,
      INTERPOLATION: 'bicubic',
      ZIP_MODE: false,
      CACHE_MODE: 'part',
      PIN_MEMORY: true,
      NUM_WORKERS: 8,
    },
    MODEL: {
      TYPE: 'swin',
      NAME: 'swin_tiny_patch4_window7_224',
      RESUME: '',
      NUM_CLASSES: 1000,
      DROP_RATE: 0.0,
      DROP_PATH_RATE: 0.1,
      LABEL_SMOOTHING: 0.1,
      SWIN: {
        PATCH_SIZE: 4,
        IN_CHANS: 3,
        EMBED_DIM: 96,
        DEPTHS: [2, 2, 6, 2],
        NUM_HEADS: [3, 6, 12, 24],
        WINDOW_SIZE: 7,
        MLP_RATIO: 4.0,
        QKV_BIAS: true,
        QK_SCALE: null,
        KA: [7, 7, 7, 7],
        DIM_REDUCTION: [4, 4, 4, 4],
        STAGES: [true, true, true, true],
        STAGES_NUM: [-1, -1, -1, -1],
        RPB: true,
        PADDING_MODE: 'zeros',
        SHARE_DWC_KERNEL: true,
        SHARE_QKV: false,
        APE: false,
        PATCH_NORM: true,
        LR_FACTOR: 2,
        DEPTHS_LR: [2, 2, 2, 2],
        FUSION_TYPE: 'add',
        STAGE_CFG: null,
      },
      SWIN_HR: {},
      SWIN_LRVIT: {},
      PVD: {},
      LA: {
        FOCUSING_FACTOR: 3,
        KERNEL_SIZE: 5,
        ATTN_TYPE: 'LLLL',
        PVT_LA_SR_RATIOS: 1111,
        CSWIN_LA_SPLIT_SIZE: '56-28-14-7',
      },
    },
    TRAIN: {
      START_EPOCH: 0,
      EPOCHS: 300,
      WARMUP_EPOCHS: 20,
      COOLDOWN_EPOCHS: 0,
      WEIGHT_DECAY: 0.05,
      BASE_LR: 5e-4,
      WARMUP_LR: 5e-7,
      MIN_LR: 5e-6,
      CLIP_GRAD: 5.0,
      AUTO_RESUME: true,
      USE_CHECKPOINT: false,
      LR_SCHEDULER: { NAME: 'cosine', DECAY_EPOCHS: 30, DECAY_RATE: 0.1 },
      OPTIMIZER: { NAME: 'adamw', EPS: 1e-8, BETAS: [0.9, 0.999], MOMENTUM: 0.9 },
    },
    AUG: {
      COLOR_JITTER: 0.4,
      AUTO_AUGMENT: 'rand-m9-mstd0.5-inc1',
      REPROB: 0.25,
      REMODE: 'pixel',
      RECOUNT: 1,
      MIXUP: 0.8,
      CUTMIX: 1.0,
      CUTMIX_MINMAX: null,
      MIXUP_PROB: 1.0,
      MIXUP_SWITCH_PROB: 0.5,
      MIXUP_MODE: 'batch',
    },
    TEST: { CROP: true },
    AMP: false,
    OUTPUT: '',
    TAG: 'default',
    SAVE_FREQ: 1,
    PRINT_FREQ: 100,
    SEED: 0,
    EVAL_MODE: false,
    THROUGHPUT_MODE: false,
    LOCAL_RANK: 0,
  };
}

const isTree = (v: ConfigValue | undefined): v is ConfigTree => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Turns YAML 1.1 spellings that PyYAML and yacs accept (`None`, `True`, `5e-4`) into values. */
function literal(v: unknown): ConfigValue {
  if (typeof v === 'string') {
    if (v === 'None') return null;
    if (v === 'True') return true;
    if (v === 'False') return false;
    if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v.trim())) return Number(v);
    return v;
  }
  if (Array.isArray(v)) return v.map(literal);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, literal(x)]));
  return v as ConfigValue;
}

/** Coerces `value` to the type of `original` as yacs does, or explains why it cannot. */
function coerce(value: ConfigValue, original: ConfigValue, key: string, where: string): ConfigValue {
  if (original === null || value === null) return value;
  if (typeof original === 'number' && typeof value === 'number') return value;
  if (typeof original === typeof value && Array.isArray(original) === Array.isArray(value)) return value;
  throw new FlattenError(
    'usage',
    `${where}: ${key} must be ${Array.isArray(original) ? 'a list' : typeof original === 'object' ? 'a section' : `a ${typeof original}`} (default ${JSON.stringify(original)}), found ${JSON.stringify(value)}`,
  );
}

/** Merges `src` into `dst` (in place); every key must exist unless its section is open. */
function merge(dst: ConfigTree, src: Record<string, unknown>, prefix: string, where: string, explicit: Set<string>): void {
  for (const [k, raw] of Object.entries(src)) {
    const key = prefix ? `${prefix}.${k}` : k;
    const v = literal(raw);
    if (!(k in dst)) {
      if (OPEN_SECTIONS.has(prefix)) {
        dst[k] = v;
        explicit.add(key);
        continue;
      }
      throw new FlattenError('config', `${where}: unknown config key ${key}; the official config.py has no such key`);
    }
    if (isTree(dst[k])) {
      if (!isTree(v)) throw new FlattenError('config', `${where}: ${key} is a section, found ${JSON.stringify(v)}`);
      merge(dst[k] as ConfigTree, v, key, where, explicit);
    } else {
      dst[k] = coerce(v, dst[k], key, where);
      explicit.add(key);
    }
  }
}

/** A resolved training configuration and which keys were set explicitly. */
export interface TrainingConfig {
  readonly tree: ConfigTree;
  /** Dotted keys given by a YAML file or `--opts` (not defaults). */
  readonly explicit: ReadonlySet<string>;
}

/** Reads a key by its dotted name. */
export function get(cfg: TrainingConfig, key: string): ConfigValue {
  let node: ConfigValue = cfg.tree;
  for (const part of key.split('.')) {
    if (!isTree(node) || !(part in node)) throw new Error(`internal: no config key ${key}`);
    node = node[part];
  }
  return node;
}

/** A number-valued key. */
export const num = (cfg: TrainingConfig, key: string): number => get(cfg, key) as number;

/** A parsed YAML config document and where it came from. */
export interface ConfigDocument {
  readonly name: string;
  readonly doc: Record<string, unknown>;
}

/**
 * Builds the configuration: defaults, then each document (a YAML file's mapping, its `BASE` files
 * before it), then `opts` (KEY VALUE pairs, values in YAML syntax).
 *
 * @example
 * ```ts
 * const cfg = buildConfig([], ['DATA.BATCH_SIZE', '32', 'TRAIN.EPOCHS', '5']);
 * num(cfg, 'TRAIN.BASE_LR'); // 0.0005
 * ```
 */
export function buildConfig(documents: readonly ConfigDocument[], opts: readonly string[] = []): TrainingConfig {
  const tree = defaultConfig();
  const explicit = new Set<string>();
  for (const d of documents) merge(tree, d.doc, '', d.name, explicit);
  if (opts.length % 2 !== 0) throw new FlattenError('config', `--opts takes KEY VALUE pairs, found an odd count (${opts.length})`);
  for (let i = 0; i < opts.length; i += 2) {
    const path = opts[i].split('.');
    const nested: Record<string, unknown> = {};
    let node = nested;
    path.slice(0, -1).forEach((p) => (node = node[p] = {} as Record<string, unknown>));
    let value: unknown = opts[i + 1];
    try {
      value = parse(opts[i + 1]);
    } catch {
      // a plain string
    }
    node[path[path.length - 1]] = value;
    merge(tree, nested, '', '--opts', explicit);
  }
  return { tree, explicit };
}
