/**
 * `GET /metrics`: Prometheus metrics of the server, with Triton's names where they map
 * (`nv_inference_request_success`, `nv_inference_request_failure`, `nv_inference_count`,
 * `nv_inference_exec_count`, `nv_inference_pending_request_count`, and the cumulative
 * `nv_inference_{request,queue,compute_infer}_duration_us`), plus histograms in seconds and of the
 * batch sizes formed; and prom-client's Node.js process metrics (CPU, memory, garbage collection, and
 * `nodejs_eventloop_lag_*`, the event loop's delay since the last scrape: how long a request could
 * wait before the server even saw it).
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { BatchObserver } from './batcher.js';

/** How a request ended. */
export type Outcome = 'success' | 'bad_request' | 'rejected' | 'timeout' | 'cancelled' | 'error';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** The server's metrics, in their own registry. */
export class ServerMetrics implements BatchObserver {
  readonly registry = new Registry();
  private readonly success = new Counter({
    name: 'nv_inference_request_success',
    help: 'Successful inference requests',
    labelNames: ['model', 'version'],
    registers: [this.registry],
  });
  private readonly failure = new Counter({
    name: 'nv_inference_request_failure',
    help: 'Failed inference requests, by reason',
    labelNames: ['model', 'version', 'reason'],
    registers: [this.registry],
  });
  private readonly inferences = new Counter({
    name: 'nv_inference_count',
    help: 'Images inferred',
    labelNames: ['model', 'version'],
    registers: [this.registry],
  });
  private readonly executions = new Counter({
    name: 'nv_inference_exec_count',
    help: 'Batches run',
    labelNames: ['model', 'version'],
    registers: [this.registry],
  });
  private readonly pending = new Gauge({
    name: 'nv_inference_pending_request_count',
    help: 'Requests waiting in the queue',
    labelNames: ['model', 'version'],
    registers: [this.registry],
  });
  private readonly requestUs = new Counter({
    name: 'nv_inference_request_duration_us',
    help: 'Cumulative request time, microseconds',
    labelNames: ['model', 'version'],
    registers: [this.registry],
  });
  private readonly queueUs = new Counter({
    name: 'nv_inference_queue_duration_us',
    help: 'Cumulative time requests waited in the queue, microseconds',
    labelNames: ['model', 'version'],
    registers: [this.registry],
  });
  private readonly computeUs = new Counter({
    name: 'nv_inference_compute_infer_duration_us',
    help: 'Cumulative model run time, microseconds',
    labelNames: ['model', 'version'],
    registers: [this.registry],
  });
  private readonly requestSeconds = new Histogram({
    name: 'flatten_request_duration_seconds',
    help: 'Request time, from arrival to answer',
    labelNames: ['model', 'outcome'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly queueSeconds = new Histogram({
    name: 'flatten_queue_duration_seconds',
    help: 'Time a request waited for its batch',
    labelNames: ['model'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly computeSeconds = new Histogram({
    name: 'flatten_compute_duration_seconds',
    help: 'Time a batch ran',
    labelNames: ['model'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly batchImages = new Histogram({
    name: 'flatten_batch_size',
    help: 'Images per batch run',
    labelNames: ['model'],
    buckets: [1, 2, 4, 8, 16, 32, 64],
    registers: [this.registry],
  });
  /** Batches and images run per model, for the summary the load test prints. */
  readonly formed = new Map<string, { batches: number; images: number }>();

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  queued(model: string, depth: number): void {
    this.pending.set({ model, version: '1' }, depth);
  }

  waited(model: string, seconds: number): void {
    this.queueSeconds.observe({ model }, seconds);
    this.queueUs.inc({ model, version: '1' }, Math.round(seconds * 1e6));
  }

  dispatched(model: string, images: number, _requests: number, computeSeconds: number): void {
    this.executions.inc({ model, version: '1' });
    this.inferences.inc({ model, version: '1' }, images);
    this.batchImages.observe({ model }, images);
    this.computeSeconds.observe({ model }, computeSeconds);
    this.computeUs.inc({ model, version: '1' }, Math.round(computeSeconds * 1e6));
    const f = this.formed.get(model) ?? { batches: 0, images: 0 };
    f.batches++;
    f.images += images;
    this.formed.set(model, f);
  }

  /** Counts one finished request. */
  finished(model: string, outcome: Outcome, seconds: number): void {
    this.requestSeconds.observe({ model, outcome }, seconds);
    if (outcome === 'success') {
      this.success.inc({ model, version: '1' });
      this.requestUs.inc({ model, version: '1' }, Math.round(seconds * 1e6));
    } else this.failure.inc({ model, version: '1', reason: outcome });
  }
}
