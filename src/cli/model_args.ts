/**
 * Reading `--arch` and `--checkpoint` the same way in every command that loads a model: a pretrained
 * name (`flatten_swin_t.in1k`) is fetched into the cache with a progress bar and implies `--arch`.
 */
import { tell } from './output.js';
import { cacheDir, fetchPretrained, isPretrainedName } from '../hub/download.js';
import { PRETRAINED } from '../hub/pretrained.js';
import { FlattenModel, type LoadOptions } from '../model.js';
import { UsageError, required, runtimeFrom } from './command.js';
import { Progress } from './progress.js';

/** Options every model-loading command accepts. */
export const modelOptions = {
  arch: { type: 'string' },
  checkpoint: { type: 'string' },
  ema: { type: 'boolean' },
  threads: { type: 'string' },
  ep: { type: 'string' },
  'no-cache': { type: 'boolean' },
} as const;

/** Usage lines for {@link modelOptions}. */
export const MODEL_USAGE = `  --arch        a registered name (flatten_swin_t, ...) or a {"family", "args"} JSON file;
                optional when --checkpoint is a pretrained name
  --checkpoint  official .pth or .safetensors file, or a pretrained name (${Object.keys(PRETRAINED)[0]}, ...)
                downloaded once into FLATTEN_VIT_CACHE (default ~/.cache/flatten-vit)
  --ema         use the checkpoint's state_dict_ema weights
  --threads     onnxruntime intra-op threads (default: all cores)
  --ep          execution providers, comma-separated (default: cpu)
  --no-cache    do not reuse or store onnxruntime's optimized model (FLATTEN_VIT_CACHE/optimized)`;

/** The optimized-model cache folder, unless `--no-cache`. */
export function cacheFrom(v: Record<string, unknown>): { cacheDir?: string } {
  return v['no-cache'] === true ? {} : { cacheDir: cacheDir() };
}

/** Resolves --arch and --checkpoint, downloading a pretrained checkpoint if needed. */
export async function resolveModelArgs(
  v: Record<string, unknown>,
  cmd: string,
  quiet = false,
): Promise<{ arch: string; checkpoint: string }> {
  const spec = required(v, 'checkpoint', cmd);
  if (isPretrainedName(spec)) {
    const entry = PRETRAINED[spec];
    const arch = typeof v.arch === 'string' ? v.arch : entry.arch;
    let bar: Progress | null = null;
    const checkpoint = await fetchPretrained(spec, (got, total) => {
      bar ??= new Progress(`downloading ${spec}`, total, 'bytes', !quiet && process.stderr.isTTY === true);
      bar.update(got);
    });
    (bar as Progress | null)?.finish();
    return { arch, checkpoint };
  }
  if (typeof v.arch !== 'string' || v.arch === '')
    throw new UsageError(`${cmd}: --arch is required (unless --checkpoint is a pretrained name)`);
  return { arch: v.arch, checkpoint: spec };
}

/** Loads the model the options describe. */
export async function loadModel(v: Record<string, unknown>, cmd: string, extra: LoadOptions = {}, quiet = false): Promise<FlattenModel> {
  const { arch, checkpoint } = await resolveModelArgs(v, cmd, quiet);
  const model = await FlattenModel.load(arch, checkpoint, { ema: v.ema === true, ...runtimeFrom(v, cmd), ...cacheFrom(v), ...extra });
  for (const w of model.warnings) tell(`warning: ${w}`);
  return model;
}
