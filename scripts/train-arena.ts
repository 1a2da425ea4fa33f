/**
 * What a training step holds, by onnxruntime's own accounting: one step of `bench --train`'s
 * training graph (AdamW, clipping, the architecture's stochastic depth) with onnxruntime's profiler
 * on, which records at every node the bytes its CPU arena has in use and holds. Prints, for each
 * step, the peak of bytes in use (and the node where it peaks), the bytes requested at that peak, and
 * the arena held; then the process's peak resident memory.
 *
 *   npx tsx scripts/train-arena.ts flatten_swin_t 32 2
 *
 * (arch, batch, threads, steps = 2). The first step grows the arena; the later ones run in it. The
 * design notes' "What the training step holds" section reads these figures.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { benchInput } from '../src/bench/throughput.js';
import { defineModel } from '../src/models/define.js';
import { resolveArchitecture } from '../src/models/registry.js';
import { nchwcKernels } from '../src/runtime/nchwc.js';
import { hostStepRuntime } from '../src/runtime/step.js';
import { wrapSession } from '../src/runtime/wrap.js';
import { loadConfig } from '../src/train/config_file.js';
import { smoothedTargets } from '../src/train/criterion.js';
import { initialWeights } from '../src/train/init.js';
import { trainSettings } from '../src/train/settings.js';
import { Trainer } from '../src/train/trainer.js';

const [archName = 'flatten_pvt_v2_b0', batchArg = '32', threadsArg = '2', stepsArg = '2'] = process.argv.slice(2);
const batch = Number(batchArg);
const arch = resolveArchitecture(archName);
const def = defineModel(arch);
const settings = trainSettings(loadConfig(null, ['DATA.BATCH_SIZE', String(batch)]), { emaDecay: null });
const dir = mkdtempSync(join(tmpdir(), 'train-arena-'));
const runtime = hostStepRuntime(
  'cpu',
  async (model) => {
    const session = await ort.InferenceSession.create(model, {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
      intraOpNumThreads: Number(threadsArg),
      interOpNumThreads: 1,
      enableMemPattern: false,
      enableProfiling: true,
      profileFilePrefix: join(dir, 'step'),
    });
    return wrapSession(session, (data, dims) => new ort.Tensor('float32', data, dims));
  },
  true,
  nchwcKernels,
);
const trainer = await Trainer.create(arch, {
  settings,
  stepsPerEpoch: 1000,
  weights: initialWeights(def.params, def.arch.family, 0),
  runtime,
});
const x = benchInput(batch, def.inputShape);
const K = trainer.graph.numClasses;
const targets = smoothedTargets(
  Array.from({ length: batch }, (_, i) => i % K),
  K,
  settings.labelSmoothing,
);
for (let i = 0; i < Number(stepsArg); i++) await trainer.step(x, targets, i);
await trainer.release();

interface ProfileEvent {
  cat: string;
  name: string;
  ts: number;
  dur: number;
  args?: Record<string, unknown>;
}
const MiB = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
// the training step's session is the one whose profile holds the most nodes
const events = readdirSync(dir)
  .map((f) => (JSON.parse(readFileSync(join(dir, f), 'utf8')) as ProfileEvent[]).sort((a, b) => a.ts - b.ts))
  .sort((a, b) => b.length - a.length)[0];
rmSync(dir, { recursive: true, force: true });
console.log(`${arch.name}, batch ${batch}, ${threadsArg} threads: onnxruntime's CPU arena per step`);
for (const [k, run] of events.filter((e) => e.name === 'model_run').entries()) {
  const nodes = events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time') && e.ts >= run.ts && e.ts <= run.ts + run.dur);
  const stat = (e: ProfileEvent, key: string) => Number(e.args?.[key] ?? 0);
  const peak = nodes.reduce((best, e) => (stat(e, 'mem_bytes_in_use') > stat(best, 'mem_bytes_in_use') ? e : best), nodes[0]);
  const held = Math.max(...nodes.map((e) => stat(e, 'mem_arena_held')));
  console.log(
    `  step ${k + 1}: ${(run.dur / 1000).toFixed(0)} ms; in use at its peak ${MiB(stat(peak, 'mem_bytes_in_use'))} ` +
      `(requested ${MiB(stat(peak, 'mem_bytes_requested_in_use'))}, at ${peak.name.replace(/_kernel_time$/, '')}); arena held ${MiB(held)}`,
  );
}
console.log(`  peak resident memory of the process: ${MiB(process.resourceUsage().maxRSS * 1024)}`);
