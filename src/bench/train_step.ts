/**
 * One training step timed as `flatten-vit bench --train` reports it: forward, loss, backward,
 * clipping and AdamW (the official defaults of config.py, the architecture's own stochastic depth)
 * on a deterministic batch with fresh weights, median over repeated steps after warm-up (the first
 * steps also grow onnxruntime's memory arena); images per second, peak resident memory, and the
 * achieved GFLOP/s — a training step counted as 3× the forward MACs — against this machine's dense
 * GEMM rate.
 */
import { availableParallelism } from 'node:os';
import { countMacs } from '../graph/macs.js';
import { defineModel } from '../models/define.js';
import type { Architecture } from '../models/registry.js';
import { loadConfig } from '../train/config_file.js';
import { smoothedTargets } from '../train/criterion.js';
import { initialWeights } from '../train/init.js';
import { createSession, nodeStepRuntime } from '../runtime/session.js';
import { trainSettings } from '../train/settings.js';
import { Trainer } from '../train/trainer.js';
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
  gemm_gflops: number;
  /** 2 × 3 × forward MACs × images/s. */
  gflops: number;
  fraction_of_gemm: number;
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
  const batch = opts.batch ?? 32;
  const threads = opts.threads ?? availableParallelism();
  const def = defineModel(arch);
  const config = loadConfig(null, ['DATA.BATCH_SIZE', String(batch)]);
  const settings = trainSettings(config, { emaDecay: null });
  opts.onStep?.('building the training graph');
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
  opts.onStep?.(`timing steps of batch ${batch}`);
  let t;
  try {
    t = await timeRepeated(() => trainer.step(x, targets, idx++), opts.seconds ?? 10);
  } finally {
    await trainer.release();
  }
  const ips = (batch * 1000) / t.medianMs;
  const gflops = (2 * 3 * countMacs(def.graph) * ips) / 1e9;
  opts.onStep?.('GEMM rate');
  const gemm = await gemmRate((b) => createSession(b, { threads }), 2);
  return {
    arch: arch.name,
    batch,
    threads,
    images_per_s: ips,
    step_ms: t.medianMs,
    steps: t.runs,
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
    gemm_gflops: gemm.gflops,
    gflops,
    fraction_of_gemm: gflops / gemm.gflops,
  };
}
