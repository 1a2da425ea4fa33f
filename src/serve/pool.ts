/**
 * The worker threads that run the models: piscina, one task per worker at a time, each worker with its
 * own onnxruntime session per model. A worker that dies is replaced by piscina (its task fails; the
 * server answers 500 for it and carries on).
 */
import { Piscina } from 'piscina';
import { FlattenError } from '../util/errors.js';
import type { ModelInfo, PoolSettings, WorkerResult, WorkerTask } from './tasks.js';

/** The worker module: `worker.js` beside this file, or `worker.ts` through tsx when running from sources. */
function workerOptions(): { filename: string; execArgv?: string[] } {
  if (!import.meta.url.endsWith('.ts')) return { filename: new URL('./worker.js', import.meta.url).href };
  // workers inherit the parent's flags; add tsx's loader unless they already hold it (`node --import tsx`, the tsx CLI)
  const hasTsx = process.execArgv.some((a) => a.includes('tsx'));
  return {
    filename: new URL('./worker.ts', import.meta.url).href,
    execArgv: hasTsx ? [...process.execArgv] : [...process.execArgv, '--import', 'tsx'],
  };
}

/** A task the pool could not run: the worker died or the model failed. */
export class WorkerFailure extends Error {}

/** A fixed set of model workers. */
export class ModelPool {
  private readonly pool: Piscina<WorkerTask, WorkerResult>;
  /** Tasks running now. */
  busy = 0;
  /** Called whenever a task ends (a worker may be free again). */
  onFree: () => void = () => undefined;

  constructor(
    settings: PoolSettings,
    readonly workers: number,
  ) {
    this.pool = new Piscina({
      ...workerOptions(),
      workerData: settings,
      minThreads: workers,
      maxThreads: workers,
      concurrentTasksPerWorker: 1,
      idleTimeout: Number.POSITIVE_INFINITY,
      // batches are sent only to a free worker (the batcher's queues are the bounded ones); the
      // preprocessing of a classify request's images may wait here, at most --max-images per request
    });
  }

  /** Whether a worker is free for a batch now. */
  get free(): number {
    return this.workers - this.busy;
  }

  /** The worker threads (for tests that stop one). */
  get threads(): readonly { terminate(): Promise<number> }[] {
    return this.pool.threads;
  }

  private async run(task: WorkerTask, transfer: ArrayBufferLike[] = []): Promise<WorkerResult> {
    this.busy++;
    try {
      return await this.pool.run(task, { transferList: transfer as ArrayBuffer[] });
    } catch (e) {
      if (e instanceof FlattenError) throw e;
      throw new WorkerFailure((e as Error).message);
    } finally {
      this.busy--;
      this.onFree();
    }
  }

  /**
   * Loads every model in every worker and runs one warm-up batch in each; resolves with what the
   * models are. A model that cannot be loaded rejects with its one-line message.
   */
  async describe(models: readonly string[]): Promise<ModelInfo[]> {
    const infos: ModelInfo[] = [];
    for (const model of models) {
      const runs = await Promise.all(Array.from({ length: this.workers }, () => this.pool.run({ kind: 'describe', model }))).catch(
        (e: Error) => {
          throw new FlattenError('input', e.message);
        },
      );
      const r = runs[0];
      if (r.kind !== 'describe') throw new Error('internal: describe');
      infos.push(r.info);
    }
    return infos;
  }

  /** Decodes and preprocesses one image on a worker: the model input, or the one-line reason it cannot be read. */
  async preprocess(
    model: string,
    bytes: Uint8Array,
    source: string,
    crop: boolean,
    exifOrientation: boolean,
  ): Promise<Float32Array | { error: string }> {
    const copy = bytes.slice();
    const r = await this.run({ kind: 'preprocess', model, bytes: copy, source, crop, exifOrientation }, [copy.buffer]);
    if (r.kind === 'error') return { error: r.error };
    if (r.kind !== 'preprocess') throw new Error('internal: preprocess');
    return r.pixels;
  }

  /** Runs one batch of `images` preprocessed images of a model. */
  async batch(
    model: string,
    images: number,
    pixels: Float32Array,
  ): Promise<{ logits: Float32Array; features: Float32Array; computeSeconds: number }> {
    const r = await this.run({ kind: 'batch', model, images, pixels }, [pixels.buffer]);
    if (r.kind !== 'batch') throw new Error('internal: batch');
    return r;
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
