/**
 * How fast a model could run if every operation but the ones no graph can drop took no time: the
 * model's matrix products and convolutions (its GEMM-only floor), then with its exact GELUs, then
 * also with its LayerNorms, residual sums and softmaxes, each part of the model's own graph at its
 * real shapes, timed in this process beside the dense GEMM rate and the model itself.
 *
 *   npx tsx scripts/inference-bound.ts flatten_swin_t 8 2
 *
 * (arch, batch, threads, seconds = 16). The model and the three parts are timed interleaved (rounds
 * of three runs of each in turn, the first after each switch not counted, see `timeInterleaved`), so
 * that a shared machine's drift in speed, which can reach a third over seconds, falls on all of them
 * alike. Prints the CPU, then each one's median time and GFLOP/s (the model's products' MACs over
 * its time) and the fraction of the dense GEMM rate, and the model's share of its bound taken round
 * by round (`pairedRatio`: the bound's time over the model's in the same round), with the median,
 * lowest and highest over the rounds. Give the big models more seconds for more rounds.
 */
import { cpus } from 'node:os';
import { necessaryWork, openPartial, type PartialSession } from '../src/bench/floor.js';
import { gemmRate } from '../src/bench/gemm.js';
import { benchInput } from '../src/bench/throughput.js';
import { pairedRatio, timeInterleaved } from '../src/bench/timing.js';
import type { GraphNode } from '../src/graph/graph.js';
import { FlattenModel } from '../src/model.js';
import { resolveArchitectureSpec } from '../src/models/config_file.js';
import { defineModel } from '../src/models/define.js';
import { randomWeights } from '../src/models/init.js';
import { createSession } from '../src/runtime/session.js';

const [arch = 'flatten_swin_t', batchArg = '8', threadsArg = '2', secondsArg = '16'] = process.argv.slice(2);
const batch = Number(batchArg);
const threads = Number(threadsArg);
const def = defineModel(resolveArchitectureSpec(arch));
const w = randomWeights(def.params, 0);

const parts: [string, (n: GraphNode) => boolean][] = [
  ['products alone (the floor)', () => false],
  ['+ GELU', necessaryWork(def.graph, ['gelu'])],
  ['+ GELU, LayerNorm, residual sums, softmax', necessaryWork(def.graph)],
];
const model = await FlattenModel.fromWeights(arch, w, { threads });
const sessions: PartialSession[] = [];
try {
  for (const [, keep] of parts) sessions.push(await openPartial(def, (n) => w.get(n)!, { batch, threads, keep }));
  const x = benchInput(batch, model.inputShape);
  const runs: Record<string, () => Promise<unknown>> = { 'the model': () => model.predict(x) };
  parts.forEach(([label], i) => (runs[label] = sessions[i].run));
  const t = await timeInterleaved(runs, Number(secondsArg), 3);
  const dense = (await gemmRate((b) => createSession(b, { threads }), 2)).gflops;
  console.log(`${arch}, batch ${batch}, ${threads} threads, ${cpus()[0]?.model ?? 'unknown CPU'}; dense GEMM ${dense.toFixed(0)} GFLOP/s`);
  const macs = sessions[0].macs; // the model's, checked when each part was opened
  for (const [label, { medianMs }] of Object.entries(t)) {
    const gflops = (2 * macs) / medianMs / 1e6;
    console.log(
      `  ${label.padEnd(44)} ${medianMs.toFixed(1).padStart(7)} ms ${gflops.toFixed(0).padStart(5)} GFLOP/s = ${((100 * gflops) / dense).toFixed(0)}% of GEMM`,
    );
  }
  const share = pairedRatio(t[parts[2][0]], t['the model']);
  const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
  console.log(
    `  the model runs at ${pct(share.median)} of its bound (median of ${share.rounds} rounds, ${pct(share.min)}–${pct(share.max)})`,
  );
} finally {
  await model.dispose();
  for (const s of sessions) await s.release();
}
