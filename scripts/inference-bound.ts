/**
 * How fast a model could run if every operation but the ones no graph can drop took no time: the
 * model's matrix products and convolutions (its GEMM-only floor), then with its exact GELUs, then
 * also with its LayerNorms, residual sums and softmaxes, each part of the model's own graph at its
 * real shapes, timed in this process beside the dense GEMM rate and the model itself.
 *
 *   npx tsx scripts/inference-bound.ts flatten_swin_t 8 2
 *
 * (arch, batch, threads). Prints GFLOP/s (the model's products' MACs over each graph's time) and the
 * fraction of the dense GEMM rate.
 */
import { floorRate, necessaryWork } from '../src/bench/floor.js';
import { gemmRate } from '../src/bench/gemm.js';
import { createSession } from '../src/runtime/session.js';
import { benchModel } from '../src/bench/throughput.js';
import type { GraphNode } from '../src/graph/graph.js';
import { resolveArchitectureSpec } from '../src/models/config_file.js';
import { defineModel } from '../src/models/define.js';
import { randomWeights } from '../src/models/init.js';

const [arch = 'flatten_swin_t', batchArg = '8', threadsArg = '2'] = process.argv.slice(2);
const batch = Number(batchArg);
const threads = Number(threadsArg);
const def = defineModel(resolveArchitectureSpec(arch));
const w = randomWeights(def.params, 0);

const parts: [string, (n: GraphNode) => boolean][] = [
  ['products alone (the floor)', () => false],
  ['+ GELU', necessaryWork(def.graph, ['gelu'])],
  ['+ GELU, LayerNorm, residual sums, softmax', necessaryWork(def.graph)],
];
// The model's own report measures the GEMM rate after the model; this one is measured again at the
// end, and the larger of the two is the yardstick (a shared machine is slower at times).
const model = await benchModel(arch, { batches: [batch], threads, seconds: 4 });
const rows: [string, number, number][] = [];
for (const [label, keep] of parts) {
  const r = await floorRate(def, (n) => w.get(n)!, { batch, threads, seconds: 4, keep });
  rows.push([label, r.ms, r.gflops]);
}
const m = model.results[0];
rows.push(['the model', m.latency_ms, m.gflops]);
const dense = Math.max(model.gemm_gflops, (await gemmRate((b) => createSession(b, { threads }), 2)).gflops);
console.log(`${arch}, batch ${batch}, ${threads} threads; dense GEMM ${dense.toFixed(0)} GFLOP/s`);
for (const [label, ms, gflops] of rows)
  console.log(
    `  ${label.padEnd(44)} ${ms.toFixed(1).padStart(7)} ms ${gflops.toFixed(0).padStart(5)} GFLOP/s = ${((100 * gflops) / dense).toFixed(0)}% of GEMM`,
  );
