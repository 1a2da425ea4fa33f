/**
 * A cache of onnxruntime-optimized models, so that a model loaded again from the same checkpoint
 * skips reading the weights, building the graph and onnxruntime's graph optimizations (Swin-T: about
 * 1 s → 0.2 s). Optimized models are specific to the CPU and the onnxruntime version, both part of the
 * key together with the architecture, the precision and the checkpoint file's path, size and time.
 * The newest few entries are kept.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, realpathSync, renameSync, rmSync, statSync, utimesSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { RUNTIME_VERSION } from './session.js';

/** How many optimized models are kept. */
const KEEP = 6;

/** What an optimized model depends on, besides the checkpoint file. */
export interface CacheIdentity {
  arch: string;
  args: Readonly<Record<string, unknown>>;
  precision: string;
  stages: boolean;
  ema: boolean;
}

/** The cache file for a checkpoint file and identity, or null if the checkpoint is not a file. */
export function optimizedModelPath(dir: string, checkpoint: unknown, id: CacheIdentity): string | null {
  if (typeof checkpoint !== 'string' || !existsSync(checkpoint)) return null;
  const st = statSync(checkpoint);
  const key = JSON.stringify([
    'flatten-vit optimized model 4',
    RUNTIME_VERSION,
    cpus()[0]?.model ?? 'cpu',
    realpathSync(checkpoint),
    st.size,
    st.mtimeMs,
    id,
  ]);
  return join(dir, 'optimized', `${id.arch.replace(/[^\w.-]/g, '_')}-${createHash('sha256').update(key).digest('hex').slice(0, 16)}.onnx`);
}

/** A temporary name in the cache folder for onnxruntime to write to; the folder is created. */
export function temporaryPath(final: string): string {
  mkdirSync(join(final, '..'), { recursive: true });
  return `${final}.${process.pid}.tmp`;
}

/** Moves a finished optimized model into place and drops the oldest entries. */
export function commit(tmp: string, final: string): void {
  renameSync(tmp, final);
  const dir = join(final, '..');
  const entries = readdirSync(dir)
    .filter((f) => f.endsWith('.onnx'))
    .map((f) => ({ f: join(dir, f), t: statSync(join(dir, f)).mtimeMs }))
    .sort((a, b) => b.t - a.t);
  for (const e of entries.slice(KEEP)) rmSync(e.f, { force: true });
}

/** Marks an entry as just used, so that it is kept. */
export function touch(path: string): void {
  const now = new Date();
  utimesSync(path, now, now);
}
