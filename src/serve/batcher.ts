/**
 * Dynamic batching: requests to one model wait in that model's bounded queue and leave it as batches
 * of up to `maxBatch` images, when a worker is free and either the batch is full, or the oldest request
 * has waited `maxDelayMs` (Triton's `max_queue_delay`), or no batch is running at all (then waiting
 * could only add latency: under load the workers are busy and batches fill while they are). A batch's outputs are split back per request;
 * an image's outputs do not depend on what it ran with (the graphs are batch-invariant, see
 * `meanTokens`). A cancelled request (deadline passed, client gone) leaves the queue at once, or is
 * forgotten when its batch returns.
 */

/** What runs a batch (the worker pool, or a stand-in in tests). */
export interface BatchRunner {
  /** Workers free for a batch now. */
  readonly free: number;
  batch(
    model: string,
    images: number,
    pixels: Float32Array,
  ): Promise<{ logits: Float32Array; features: Float32Array; computeSeconds: number }>;
}

/** One request's outputs: (images, classes) logits and (images, features) features, row-major. */
export interface BatchOutputs {
  logits: Float32Array;
  features: Float32Array;
}

/** What the batcher reports, for the metrics. */
export interface BatchObserver {
  queued?(model: string, depth: number): void;
  dispatched?(model: string, images: number, requests: number, computeSeconds: number): void;
  waited?(model: string, seconds: number): void;
}

/** Why a request was not run. */
export class QueueFull extends Error {}

/** Batching settings (the `serve` options of the same names). */
export interface BatcherOptions {
  maxBatch: number;
  maxDelayMs: number;
  /** Requests one model's queue holds; beyond it, {@link Batcher.submit} throws {@link QueueFull}. */
  maxQueue: number;
}

interface Pending {
  images: number;
  pixels: Float32Array;
  enqueued: number;
  cancelled: boolean;
  resolve(out: BatchOutputs): void;
  reject(e: Error): void;
}

/** A submitted request: its outputs, and a way to give it up. */
export interface Ticket {
  readonly result: Promise<BatchOutputs>;
  /** Leaves the queue (or ignores the batch's answer); the result never settles after this. */
  cancel(): void;
}

/** Per-model queues feeding one {@link BatchRunner}. */
export class Batcher {
  private readonly queues = new Map<string, Pending[]>();
  private readonly sizes = new Map<string, { classes: number; features: number }>();
  /** Requests admitted per model whose bodies are still arriving (see {@link Batcher.admit}). */
  private readonly admitted = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private turn = 0;
  /** Batches running now. */
  running = 0;

  constructor(
    private readonly runner: BatchRunner,
    private readonly opts: BatcherOptions,
    private readonly observer: BatchObserver = {},
  ) {}

  /** Registers a model and its output sizes. */
  addModel(model: string, classes: number, features: number): void {
    this.queues.set(model, []);
    this.admitted.set(model, 0);
    this.sizes.set(model, { classes, features });
  }

  /** Whether a model's queue is full, counting admitted requests (a request to it would be refused now). */
  full(model: string): boolean {
    return (this.queues.get(model)?.length ?? 0) + (this.admitted.get(model) ?? 0) >= this.opts.maxQueue;
  }

  /**
   * Holds a place in a model's queue for a request whose body is still arriving, so that a request
   * admitted when its headers came is not refused after its body has been read (under overload, reading
   * hundreds of bodies at once takes hundreds of ms: the refusal must come before). Throws
   * {@link QueueFull} when the queue and the places held fill it. Returns what gives the place back,
   * called just before the request's {@link Batcher.submit} or when it ends otherwise (idempotent).
   */
  admit(model: string): () => void {
    const held = this.admitted.get(model);
    if (held === undefined) return () => undefined;
    if (this.full(model)) throw new QueueFull(`the queue of ${model} is full (${this.opts.maxQueue} requests)`);
    this.admitted.set(model, held + 1);
    let given = false;
    return () => {
      if (given) return;
      given = true;
      this.admitted.set(model, this.admitted.get(model)! - 1);
    };
  }

  /** Requests waiting, over all models. */
  get queued(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.length;
    return n;
  }

  /**
   * Queues `images` preprocessed images of `model` (`pixels` holds them back to back). Throws
   * {@link QueueFull} at once when the model's queue is full.
   */
  submit(model: string, images: number, pixels: Float32Array): Ticket {
    const queue = this.queues.get(model);
    if (!queue) throw new Error(`internal: no queue for ${model}`);
    if (queue.length >= this.opts.maxQueue) throw new QueueFull(`the queue of ${model} is full (${this.opts.maxQueue} requests)`);
    let pending!: Pending;
    const result = new Promise<BatchOutputs>((resolve, reject) => {
      pending = { images, pixels, enqueued: performance.now(), cancelled: false, resolve, reject };
    });
    queue.push(pending);
    this.observer.queued?.(model, queue.length);
    this.pump();
    return {
      result,
      cancel: () => {
        if (pending.cancelled) return;
        pending.cancelled = true;
        const i = queue.indexOf(pending);
        if (i >= 0) {
          queue.splice(i, 1);
          this.observer.queued?.(model, queue.length);
        }
      },
    };
  }

  /** Starts every batch that is due while workers are free; otherwise waits for the earliest due time. */
  pump(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const models = [...this.queues.keys()];
    let wait = Number.POSITIVE_INFINITY;
    while (this.runner.free > 0) {
      const now = performance.now();
      let chosen: string | null = null;
      wait = Number.POSITIVE_INFINITY;
      for (let k = 0; k < models.length; k++) {
        const model = models[(this.turn + k) % models.length];
        const q = this.queues.get(model)!;
        if (q.length === 0) continue;
        const images = q.reduce((n, p) => n + p.images, 0);
        const due = q[0].enqueued + this.opts.maxDelayMs - now;
        // waiting for a fuller batch pays only while another batch runs: with every worker idle, the load is low
        if (images >= this.opts.maxBatch || due <= 0 || this.running === 0) {
          chosen = model;
          this.turn = (this.turn + k + 1) % models.length;
          break;
        }
        wait = Math.min(wait, due);
      }
      if (chosen === null) break;
      this.dispatch(chosen);
    }
    if (this.runner.free > 0 && Number.isFinite(wait)) this.timer = setTimeout(() => this.pump(), Math.max(0, wait));
  }

  /** Takes up to `maxBatch` images of whole requests from the head of a queue and runs them. */
  private dispatch(model: string): void {
    const queue = this.queues.get(model)!;
    const batch: Pending[] = [queue.shift()!];
    let images = batch[0].images;
    while (queue.length > 0 && images + queue[0].images <= this.opts.maxBatch) {
      const p = queue.shift()!;
      batch.push(p);
      images += p.images;
    }
    this.observer.queued?.(model, queue.length);
    const now = performance.now();
    for (const p of batch) this.observer.waited?.(model, (now - p.enqueued) / 1000);
    // one request runs on its own array (moved to the worker); several are joined into one
    let pixels = batch[0].pixels;
    if (batch.length > 1) {
      pixels = new Float32Array(batch.reduce((n, p) => n + p.pixels.length, 0));
      let offset = 0;
      for (const p of batch) {
        pixels.set(p.pixels, offset);
        offset += p.pixels.length;
      }
    }
    const { classes, features } = this.sizes.get(model)!;
    this.running++;
    this.runner
      .batch(model, images, pixels)
      .then(
        (out) => {
          this.observer.dispatched?.(model, images, batch.length, out.computeSeconds);
          let row = 0;
          for (const p of batch) {
            if (!p.cancelled)
              p.resolve({
                logits: out.logits.slice(row * classes, (row + p.images) * classes),
                features: out.features.slice(row * features, (row + p.images) * features),
              });
            row += p.images;
          }
        },
        (e: Error) => {
          for (const p of batch) if (!p.cancelled) p.reject(e);
        },
      )
      .finally(() => {
        this.running--;
        this.pump();
      });
  }

  /** Resolves when nothing is queued or running for any model. */
  async idle(pollMs = 5): Promise<void> {
    while (this.queued > 0 || this.running > 0) await new Promise((r) => setTimeout(r, pollMs));
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
