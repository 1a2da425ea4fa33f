/**
 * Node's sample runner: decoding and augmentation on worker threads (`worker.ts`), a few batches
 * ahead of the training step so that the step rarely waits, or on the main thread between steps.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { FlattenError } from '../util/errors.js';
import { loadSample } from './load_sample.js';
import type { SampleJob, SampleResult } from './sample.js';
import { SampleLoader } from './sample_loader.js';
import type { TransformSettings } from './transforms.js';

/** The default worker count: the cores left after one, at least one. */
export const defaultWorkers = () => Math.max(1, availableParallelism() - 1);

/**
 * Starts a data worker: `worker.js` beside this file, or, when running from the TypeScript sources
 * (tests, `tsx`), `worker.ts` through tsx's loader.
 */
function startWorker(settings: TransformSettings): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./worker.js', import.meta.url), { workerData: settings });
  const url = JSON.stringify(new URL('./worker.ts', import.meta.url).href);
  return new Worker(`import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${url}); })`, {
    eval: true,
    workerData: settings,
  });
}

/** Jobs waiting for a worker's answer. */
interface Pending {
  resolve: (r: SampleResult) => void;
  reject: (e: Error) => void;
}

/** Worker threads started on the first job, so that a loader never used costs nothing. */
class WorkerPool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private turn = 0;
  private failure: Error | null = null;
  private started = false;

  constructor(
    private readonly settings: TransformSettings,
    private readonly count: number,
  ) {}

  private start(): void {
    this.started = true;
    for (let i = 0; i < this.count; i++) {
      const w = startWorker(this.settings);
      w.on('message', (m: { id: number; result?: SampleResult; crash?: string }) => {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        if (m.crash !== undefined) p?.reject(new FlattenError('input', m.crash));
        else p?.resolve(m.result!);
      });
      w.on('error', (e) => this.fail(e));
      this.workers.push(w);
    }
  }

  private fail(e: Error): void {
    this.failure = e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  /** Starts one job (on the next worker in turn, or on the main thread without workers). */
  run(job: SampleJob): Promise<SampleResult> {
    if (!this.started) this.start();
    if (this.failure) return Promise.reject(this.failure);
    if (this.workers.length === 0) {
      return new Promise((resolve, reject) =>
        setImmediate(() => {
          try {
            resolve(loadSample(job, this.settings));
          } catch (e) {
            reject(e as Error);
          }
        }),
      );
    }
    const id = this.nextId++;
    const w = this.workers[this.turn++ % this.workers.length];
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      w.postMessage({ id, job });
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }
}

/**
 * A loader of ImageFolder files.
 *
 * @example
 * ```ts
 * const loader = fileSampleLoader({ settings: transformSettings(config.tree), workers: 2 });
 * for await (const b of loader.trainEpoch(samples, { batch: 32, seed: 0, epoch: 0 })) await trainer.step(b.x, …);
 * await loader.close();
 * ```
 */
export function fileSampleLoader(o: {
  settings: TransformSettings;
  /** Worker threads; 0 loads on the main thread, between steps. Default: one less than the cores, at least 1. */
  workers?: number;
  onSkip?: (reason: string) => void;
}): SampleLoader {
  const pool = new WorkerPool(o.settings, o.workers ?? defaultWorkers());
  return new SampleLoader({
    shape: [3, o.settings.size, o.settings.size],
    run: (job) => pool.run(job),
    close: () => pool.close(),
    ...(o.onSkip ? { onSkip: o.onSkip } : {}),
  });
}
