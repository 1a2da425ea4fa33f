/**
 * The data loader of a training run, as the official loaders feed `main_ema.py`: training samples
 * shuffled every epoch from the seed, batches of DATA.BATCH_SIZE with the incomplete last one dropped
 * (`drop_last=True`), validation samples in order with every image kept. Loading runs a few batches
 * ahead of the training step, on whatever the runner uses (Node's worker threads, the browser's
 * trainer worker); each sample's augmentation draws from its own stream (seed, epoch, position), so
 * the images are the same however they are loaded and a resumed run sees what the uninterrupted one
 * would have. Unusable images are skipped and reported, and the batch is filled from the next samples.
 */
import type { Tensor } from '../tensor.js';
import { mixSeed, Random } from '../util/random.js';
import type { Sample, SampleJob, SampleResult } from './sample.js';

/** A batch of model inputs with their class indices. */
export interface LabeledBatch {
  /** (B, 3, size, size), or (B, C) for features. */
  readonly x: Tensor;
  /** (B,) class indices. */
  readonly labels: Float32Array;
  /** A name for messages: the first image's path. */
  readonly source: string;
}

/** Options of {@link SampleLoader}. */
export interface SampleLoaderOptions {
  /** The shape of one sample's input: (3, DATA.IMG_SIZE, DATA.IMG_SIZE) for images. */
  readonly shape: readonly number[];
  /** Loads one sample (sample.ts does the decoding and transforms). */
  readonly run: (job: SampleJob) => Promise<SampleResult>;
  /** Stops whatever `run` started (worker threads). */
  readonly close?: () => Promise<void>;
  /** Called once for each image that cannot be used; it is skipped. */
  readonly onSkip?: (reason: string) => void;
}

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
 * Loads ImageFolder samples into batches.
 *
 * @example
 * ```ts
 * const loader = fileSampleLoader({ settings: transformSettings(config.tree) });
 * for await (const b of loader.trainEpoch(samples, { batch: 32, seed: 0, epoch: 0 })) await trainer.step(b.x, …);
 * await loader.close();
 * ```
 */
export class SampleLoader {
  private readonly skipped = new Set<string>();

  /** A loader over `o.samples`, running `o.run` on each (in workers, when `o.run` sends them there). */
  constructor(private readonly o: SampleLoaderOptions) {}

  /** Images skipped so far (each counted once). */
  get skippedCount(): number {
    return this.skipped.size;
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
        const p = this.o.run(job(next));
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
    const shape = this.o.shape;
    const per = shape.reduce((a, d) => a * d, 1);
    let x = new Float32Array(batch * per);
    let labels = new Float32Array(batch);
    let n = 0;
    let source = '';
    for await (const it of items) {
      if (n === 0) source = it.path;
      x.set(it.x, n * per);
      labels[n++] = it.target;
      if (n === batch) {
        yield { x: { shape: [batch, ...shape], data: x }, labels, source };
        x = new Float32Array(batch * per);
        labels = new Float32Array(batch);
        n = 0;
      }
    }
    if (n > 0 && !dropLast) yield { x: { shape: [n, ...shape], data: x.slice(0, n * per) }, labels: labels.slice(0, n), source };
  }

  /** Stops the runner's workers. */
  async close(): Promise<void> {
    await this.o.close?.();
  }
}
