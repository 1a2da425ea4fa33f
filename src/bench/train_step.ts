/**
 * One training step timed as `flatten-vit bench --train` reports it: forward, loss, backward,
 * clipping and AdamW (the official defaults of config.py, the architecture's own stochastic depth)
 * on a deterministic batch with fresh weights, median over repeated steps after warm-up (the first
 * steps also grow onnxruntime's memory arena); images per second, peak resident memory, the
 * achieved GFLOP/s — a training step counted as 3× the forward MACs — against this machine's dense
 * GEMM rate, and the rate of the step's own products alone (forward and backward: MatMul, Gemm,
 * Conv, ConvTranspose at their real shapes, see floor.ts), the ceiling of everything else the step
 * does.
 */
import { availableParallelism } from 'node:os';
import { countMacs } from '../graph/macs.js';
import { peakLiveBytes } from '../graph/memory.js';
import { defineModel } from '../models/define.js';
import type { Architecture } from '../models/registry.js';
import { loadConfig } from '../train/config_file.js';
import { smoothedTargets } from '../train/criterion.js';
import { initialWeights } from '../train/init.js';
import { createSession, nodeStepRuntime } from '../runtime/session.js';
import { trainSettings } from '../train/settings.js';
import { Trainer } from '../train/trainer.js';
import { floorRate, isTrainingProduct, trainingBoundWork } from './floor.js';
import { gemmRate } from './gemm.js';
import { benchInput } from './throughput.js';
import { timeRepeated } from './timing.js';

/** What `bench --train --json` prints. */
export interface TrainBenchReport {
  arch: string;
  batch: number;
  threads: number;
  images_per_s: number;
  step_ms: number;
  /** Steps timed after warm-up. */
  steps: number;
  peak_rss_mb: number;
  /**
   * The most bytes of tensors alive at once when the training graph's nodes run in its order, each
   * value freed after its last reader (graph/memory.ts), in MiB: the activations and gradients a
   * step must hold, which onnxruntime's arena serves; peak RSS adds the runtime, the parameters, the
   * optimizer state and the arena's own slack.
   */
  live_tensors_peak_mb: number;
  gemm_gflops: number;
  /** 2 × 3 × forward MACs × images/s. */
  gflops: number;
  fraction_of_gemm: number;
  /** Images/s of the training graph's products alone (the step with everything else taking no time). */
  products_images_per_s: number;
  /** images_per_s / products_images_per_s. */
  fraction_of_products: number;
  /**
   * Images/s of the products plus the work no training graph can drop: the forward's GELU, LayerNorm,
   * softmax and residual sums and their backward (floor.ts's `trainingBoundWork`).
   */
  bound_images_per_s: number;
  /** images_per_s / bound_images_per_s. */
  fraction_of_bound: number;
}

/** A trainer as `bench --train` times it, and one step of it on its batch. */
export interface BenchTrainer {
  trainer: Trainer;
  /** One training step on the same deterministic batch (the step index advancing). */
  step: () => Promise<unknown>;
  batch: number;
  threads: number;
}

/**
 * A trainer on the official defaults of config.py (AdamW, clipping, the architecture's own
 * stochastic depth, no EMA) with fresh weights, and a deterministic batch to step on. Release it
 * with `trainer.release()`.
 *
 * @example
 * ```ts
 * const { trainer, step } = await benchTrainer(resolveArchitecture('flatten_pvt_v2_b0'), { batch: 32, threads: 2 });
 * await step();
 * await trainer.release();
 * ```
 */
export async function benchTrainer(arch: Architecture, opts: { batch?: number; threads?: number } = {}): Promise<BenchTrainer> {
  const batch = opts.batch ?? 32;
  const threads = opts.threads ?? availableParallelism();
  const def = defineModel(arch);
  const config = loadConfig(null, ['DATA.BATCH_SIZE', String(batch)]);
  const settings = trainSettings(config, { emaDecay: null });
  const trainer = await Trainer.create(arch, {
    settings,
    stepsPerEpoch: 1000,
    weights: initialWeights(def.params, def.arch.family, 0),
    runtime: nodeStepRuntime({ threads }),
  });
  const x = benchInput(batch, def.inputShape);
  const K = trainer.graph.numClasses;
  const targets = smoothedTargets(
    Array.from({ length: batch }, (_, i) => i % K),
    K,
    settings.labelSmoothing,
  );
  let idx = 0;
  return { trainer, step: () => trainer.step(x, targets, idx++), batch, threads };
}

/**
 * Times training steps of an architecture.
 *
 * @example
 * ```ts
 * const r = await benchTrainStep(resolveArchitecture('flatten_pvt_v2_b0'), { batch: 32, threads: 2 });
 * ```
 */
export async function benchTrainStep(
  arch: Architecture,
  opts: { batch?: number; threads?: number; seconds?: number; onStep?: (what: string) => void } = {},
): Promise<TrainBenchReport> {
  opts.onStep?.('building the training graph');
  const { trainer, step, batch, threads } = await benchTrainer(arch, opts);
  opts.onStep?.(`timing steps of batch ${batch}`);
  let t;
  try {
    t = await timeRepeated(step, opts.seconds ?? 10);
  } finally {
    await trainer.release();
  }
  // the step's own peak, before the products' graph (with an input per operand shape) adds its own
  const peakRss = process.resourceUsage().maxRSS / 1024;
  opts.onStep?.("timing the step's products alone");
  // the training graph's shapes are the real ones (fixed batch): the floor's batch factor is 1
  const partSeconds = Math.max(2, (opts.seconds ?? 10) / 2);
  const products = await floorRate(trainer.graph, () => new Float32Array(), {
    batch: 1,
    threads,
    seconds: partSeconds,
    keep: isTrainingProduct,
  });
  opts.onStep?.('timing the products with the necessary work (the bound)');
  const necessary = trainingBoundWork(trainer.graph);
  const bound = await floorRate(trainer.graph, () => new Float32Array(), {
    batch: 1,
    threads,
    seconds: partSeconds,
    keep: (n) => isTrainingProduct(n) || necessary(n),
  });
  const ips = (batch * 1000) / t.medianMs;
  const productsIps = (batch * 1000) / products.ms;
  const boundIps = (batch * 1000) / bound.ms;
  const gflops = (2 * 3 * countMacs(defineModel(arch).graph) * ips) / 1e9;
  opts.onStep?.('GEMM rate');
  const gemm = await gemmRate((b) => createSession(b, { threads }), 2);
  return {
    arch: arch.name,
    batch,
    threads,
    images_per_s: ips,
    step_ms: t.medianMs,
    steps: t.runs,
    peak_rss_mb: peakRss,
    live_tensors_peak_mb: peakLiveBytes(trainer.graph.graph) / 2 ** 20,
    gemm_gflops: gemm.gflops,
    gflops,
    fraction_of_gemm: gflops / gemm.gflops,
    products_images_per_s: productsIps,
    fraction_of_products: ips / productsIps,
    bound_images_per_s: boundIps,
    fraction_of_bound: ips / boundIps,
  };
}
