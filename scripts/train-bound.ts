/**
 * The fastest a training step could be if every operation but its matrix products and convolutions
 * took no time: the training graph's own products (forward and backward: MatMul, Gemm, Conv,
 * ConvTranspose) at their real shapes, alone, beside the whole step as `bench --train` times it (which
 * reports both; this prints the products' counts too).
 *
 *   npx tsx scripts/train-bound.ts flatten_pvt_v2_b0 32 2
 *
 * (arch, batch, threads). Prints images/s of the products alone and of the step.
 */
import { benchTrainStep } from '../src/bench/train_step.js';
import { resolveArchitecture } from '../src/models/registry.js';
import { defineTrainingGraph } from '../src/train/training_graph.js';

const [arch = 'flatten_pvt_v2_b0', batchArg = '32', threadsArg = '2'] = process.argv.slice(2);
const batch = Number(batchArg);
const threads = Number(threadsArg);
const counts = new Map<string, number>();
for (const n of defineTrainingGraph(resolveArchitecture(arch), { batch }).graph.nodes) counts.set(n.op, (counts.get(n.op) ?? 0) + 1);
const r = await benchTrainStep(resolveArchitecture(arch), { batch, threads, seconds: 12 });
const kinds = ['MatMul', 'Gemm', 'Conv', 'ConvTranspose'].map((k) => `${counts.get(k) ?? 0} ${k}`).join(', ');
console.log(`${arch}, batch ${batch}, ${threads} threads; ${kinds}`);
console.log(
  `  products alone  ${((1000 * batch) / r.products_images_per_s).toFixed(0).padStart(6)} ms  ${r.products_images_per_s.toFixed(2).padStart(6)} images/s`,
);
console.log(
  `  training step   ${r.step_ms.toFixed(0).padStart(6)} ms  ${r.images_per_s.toFixed(2).padStart(6)} images/s  (${(100 * r.fraction_of_products).toFixed(0)}% of the products alone)`,
);
