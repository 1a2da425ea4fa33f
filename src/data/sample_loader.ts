/**
 * The ImageFolder data loader of a training run, as the official loaders feed `main_ema.py`: training
 * samples shuffled every epoch from the seed, batches of DATA.BATCH_SIZE with the incomplete last one
 * dropped (`drop_last=True`), validation samples in order with every image kept. Decoding and
 * augmentation run on worker threads, a few batches ahead of the training step, so that the step
 * rarely waits; each sample's augmentation draws from its own stream (seed, epoch, position), so the
 * images are the same whatever the number of workers and a resumed run sees what the uninterrupted
 * one would have. Unreadable images are skipped and reported, and the batch is filled from the next
 * samples.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Sample } from '../classify/dataset.js';
import type { Tensor } from '../tensor.js';
import { FlattenError } from '../util/errors.js';
import { mixSeed, Random } from '../util/random.js';
import { loadSample, type SampleJob, type SampleResult } from './load_sample.js';
import type { TransformSettings } from './transforms.js';

/** A batch of model inputs with their class indices. */
export interface LabeledBatch {
  /** (B, 3, size, size) */
  readonly x: Tensor;
  /** (B,) class indices. */
  readonly labels: Float32Array;
  /** A name for messages: the first image's path. */
  readonly source: string;
}

/** Options of {@link SampleLoader}. */
export interface SampleLoaderOptions {
  readonly settings: TransformSettings;
  /** Worker threads; 0 loads on the main thread, between steps. Default: one less than the cores, at least 1. */
  readonly workers?: number;
  /** Called once for each image that cannot be used; it is skipped. */
  readonly onSkip?: (reason: string) => void;
}

/** The default worker count: the cores left after one, at least one. */
export const defaultWorkers = () => Math.max(1, availableParallelism() - 1);

/** The sample order of a training epoch: a permutation drawn from (seed, epoch). */
export function epochOrder(n: number, seed: number, epoch: number): Int32Array {
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const r = new Random(mixSeed(seed, epoch));
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r.next() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

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

/** Which workers are busy with which job. */
interface Pending {
  resolve: (r: SampleResult) => void;
  reject: (e: Error) => void;
}

/**
 * Loads ImageFolder samples into batches.
 *
 * @example
 * ```ts
 * const loader = new SampleLoader({ settings: transformSettings(config.tree) });
 * for await (const b of loader.trainEpoch(samples, { batch: 32, seed: 0, epoch: 0 })) await trainer.step(b.x, …);
 * await loader.close();
 * ```
 */
export class SampleLoader {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private turn = 0;
  private failure: Error | null = null;
  private readonly skipped = new Set<string>();

  private started = false;

  constructor(private readonly o: SampleLoaderOptions) {}

  /** Starts the worker threads (on the first job, so that a loader never used costs nothing). */
  private start(): void {
    this.started = true;
    const n = this.o.workers ?? defaultWorkers();
    for (let i = 0; i < n; i++) {
      const w = startWorker(this.o.settings);
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

  /** Images skipped so far (each counted once). */
  get skippedCount(): number {
    return this.skipped.size;
  }

  private fail(e: Error): void {
    this.failure = e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  /** Starts one job (on the next worker in turn) and returns its eventual result. */
  private submit(job: SampleJob): Promise<SampleResult> {
    if (!this.started) this.start();
    if (this.failure) return Promise.reject(this.failure);
    if (this.workers.length === 0) {
      return new Promise((resolve, reject) =>
        setImmediate(() => {
          try {
            resolve(loadSample(job, this.o.settings));
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

  /** The loaded samples of `order` from position `from` on, each started `ahead` positions before it is needed; unusable ones skipped. */
  private async *stream(
    samples: readonly Sample[],
    order: ArrayLike<number>,
    from: number,
    ahead: number,
    job: (pos: number) => SampleJob,
  ) {
    const started = new Map<number, Promise<SampleResult>>();
    let next = from;
    const fill = (pos: number) => {
      while (next < order.length && next < pos + ahead) {
        const p = this.submit(job(next));
        p.catch(() => undefined); // awaited below; an abandoned epoch must not leave a rejection unhandled
        started.set(next, p);
        next++;
      }
    };
    for (let pos = from; pos < order.length; pos++) {
      fill(pos);
      const r = await started.get(pos)!;
      started.delete(pos);
      const sample = samples[order[pos]];
      if (r.ok) yield { x: r.x, target: sample.target, path: sample.path };
      else if (!this.skipped.has(sample.path)) {
        this.skipped.add(sample.path);
        this.o.onSkip?.(r.reason);
      }
    }
  }

  /**
   * The training batches of one epoch, from step `startStep` on: shuffled, augmented, `batch` images
   * each, the incomplete last batch dropped.
   */
  async *trainEpoch(
    samples: readonly Sample[],
    o: { batch: number; seed: number; epoch: number; startStep?: number },
  ): AsyncGenerator<LabeledBatch> {
    const order = epochOrder(samples.length, o.seed, o.epoch);
    const job = (pos: number): SampleJob => ({ path: samples[order[pos]].path, train: true, seed: mixSeed(o.seed, o.epoch, pos, 1) });
    yield* this.batches(this.stream(samples, order, (o.startStep ?? 0) * o.batch, 2 * o.batch, job), o.batch, true);
  }

  /** The validation batches: every image in folder order, `batch` at a time (the last one may be smaller). */
  async *valEpoch(samples: readonly Sample[], batch: number): AsyncGenerator<LabeledBatch> {
    const order = Int32Array.from({ length: samples.length }, (_, i) => i);
    const job = (pos: number): SampleJob => ({ path: samples[pos].path, train: false, seed: 0 });
    yield* this.batches(this.stream(samples, order, 0, 2 * batch, job), batch, false);
  }

  private async *batches(
    items: AsyncGenerator<{ x: Float32Array; target: number; path: string }>,
    batch: number,
    dropLast: boolean,
  ): AsyncGenerator<LabeledBatch> {
    const size = this.o.settings.size;
    const per = 3 * size * size;
    let x = new Float32Array(batch * per);
    let labels = new Float32Array(batch);
    let n = 0;
    let source = '';
    for await (const it of items) {
      if (n === 0) source = it.path;
      x.set(it.x, n * per);
      labels[n++] = it.target;
      if (n === batch) {
        yield { x: { shape: [batch, 3, size, size], data: x }, labels, source };
        x = new Float32Array(batch * per);
        labels = new Float32Array(batch);
        n = 0;
      }
    }
    if (n > 0 && !dropLast) yield { x: { shape: [n, 3, size, size], data: x.slice(0, n * per) }, labels: labels.slice(0, n), source };
  }

  /** Stops the workers. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }
}
