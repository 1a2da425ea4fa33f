/**
 * Model throughput as `flatten-vit bench` reports it: images per second (median over repeated runs)
 * for each batch size, latency, the time from checkpoint file to first result (with random weights:
 * from weights in memory to first result), peak resident memory, and the achieved GFLOP/s as a
 * fraction of this machine's dense GEMM rate.
 */
import { availableParallelism } from 'node:os';
import type { CheckpointInput } from '../checkpoint/open.js';
import { countMacs } from '../graph/macs.js';
import { type ArchitectureSpec, FlattenModel, type Precision } from '../model.js';
import { defineModel } from '../models/define.js';
import { randomWeights } from '../models/init.js';
import { resolveArchitectureSpec } from '../models/config_file.js';
import type { Tensor } from '../tensor.js';
import { createSession } from '../runtime/session.js';
import { requireWebGpu } from '../runtime/webgpu.js';
import { floorRate } from './floor.js';
import { gemmRate } from './gemm.js';
import { timeRepeated } from './timing.js';

/** Options of {@link benchModel}. */
export interface BenchOptions {
  /** Weights to load; random weights when absent. */
  checkpoint?: CheckpointInput;
  batches?: number[];
  /** Minimum seconds of timed runs per batch size (default 5). */
  seconds?: number;
  /** Intra-op threads (default: all cores). */
  threads?: number;
  precision?: Precision;
  /** Execution providers (default `['cpu']`); the GEMM rate is always the CPU's. */
  executionProviders?: string[];
  /** Called before each measurement, for progress messages. */
  onStep?: (what: string) => void;
}

/** One batch size's figures. */
export interface BenchResult {
  batch: number;
  images_per_s: number;
  latency_ms: number;
  gflops: number;
  fraction_of_gemm: number;
  /** The model's rate over its GEMM-only floor's (null where there is no floor, see `floor_gflops`). */
  fraction_of_floor: number | null;
}

/** Everything `bench --json` prints. */
export interface BenchReport {
  arch: string;
  threads: number;
  precision: Precision;
  /** The execution providers, comma-separated (`cpu`, `webgpu`). */
  ep: string;
  /** The WebGPU adapter as far as Node can name it (the Vulkan driver, e.g. `swiftshader`); null off WebGPU. */
  adapter: string | null;
  results: BenchResult[];
  gemm_gflops: number;
  /**
   * The model's GEMM-only floor: its matrix products and convolutions alone, at their real shapes,
   * at the largest batch, in this process (see `floorGraph`); null in int8, whose products take
   * quantized inputs.
   */
  floor_gflops: number | null;
  /** The batch the floor was timed at. */
  floor_batch: number;
  macs: number;
  load_s: number;
  peak_rss_mb: number;
}

/** A deterministic input batch. */
export function benchInput(batch: number, shape: readonly number[]): Tensor {
  const [c, h, w] = shape;
  const data = new Float32Array(batch * c * h * w);
  for (let i = 0; i < data.length; i++) data[i] = Math.sin(i * 0.37);
  return { shape: [batch, c, h, w], data };
}

/**
 * Benchmarks one architecture.
 *
 * @example
 * ```ts
 * const report = await benchModel('flatten_swin_t', { batches: [1, 8], threads: 2, seconds: 5 });
 * ```
 */
export async function benchModel(arch: ArchitectureSpec, opts: BenchOptions = {}): Promise<BenchReport> {
  const threads = opts.threads ?? availableParallelism();
  const batches = opts.batches ?? [1, 8];
  const seconds = opts.seconds ?? 5;
  const precision = opts.precision ?? 'fp32';
  opts.onStep?.('loading');
  const executionProviders = opts.executionProviders ?? ['cpu'];
  const adapter = executionProviders.includes('webgpu') ? requireWebGpu().adapter : null;
  const load = { threads, precision, executionProviders };
  const fp32 = defineModel(resolveArchitectureSpec(arch));
  const random = opts.checkpoint === undefined ? randomWeights(fp32.params) : null;
  const t0 = performance.now();
  const model = random ? await FlattenModel.fromWeights(arch, random, load) : await FlattenModel.load(arch, opts.checkpoint!, load);
  await model.predict(benchInput(batches[0], model.inputShape));
  const loadS = (performance.now() - t0) / 1000;
  const macs = countMacs(model.definition.graph);
  const results: BenchResult[] = [];
  try {
    for (const b of batches) {
      opts.onStep?.(`batch ${b}`);
      const x = benchInput(b, model.inputShape);
      const t = await timeRepeated(() => model.predict(x), seconds);
      const ips = (b * 1000) / t.medianMs;
      results.push({
        batch: b,
        images_per_s: ips,
        latency_ms: t.medianMs,
        gflops: (2 * macs * ips) / 1e9,
        fraction_of_gemm: 0,
        fraction_of_floor: null,
      });
    }
  } finally {
    await model.dispose();
  }
  const floorBatch = Math.max(...batches);
  let floor: number | null = null;
  if (precision === 'fp32') {
    opts.onStep?.(`GEMM-only floor at batch ${floorBatch}`);
    const w = random ?? randomWeights(fp32.params);
    floor = (await floorRate(fp32, (n) => w.get(n)!, { batch: floorBatch, threads, seconds: Math.min(3, seconds), executionProviders }))
      .gflops;
  }
  opts.onStep?.('GEMM rate');
  const gemm = await gemmRate((b) => createSession(b, { threads }), Math.min(2, seconds));
  for (const r of results) {
    r.fraction_of_gemm = r.gflops / gemm.gflops;
    r.fraction_of_floor = floor === null ? null : r.gflops / floor;
  }
  return {
    arch: model.name,
    threads,
    precision,
    ep: executionProviders.join(','),
    adapter,
    results,
    gemm_gflops: gemm.gflops,
    floor_gflops: floor,
    floor_batch: floorBatch,
    macs,
    load_s: loadS,
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
  };
}
