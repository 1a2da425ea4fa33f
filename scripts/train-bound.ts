/**
 * The fastest a training step could be if every operation but its matrix products and convolutions
 * took no time: the training graph's own products (forward and backward: MatMul, Gemm, Conv,
 * ConvTranspose) at their real shapes, alone, beside the whole step as `bench --train` times it.
 *
 *   npx tsx scripts/train-bound.ts flatten_pvt_v2_b0 32 2
 *
 * (arch, batch, threads). Prints images/s of the products alone and of the step.
 */
import { floorRate } from '../src/bench/floor.js';
import { benchTrainStep } from '../src/bench/train_step.js';
import { resolveArchitecture } from '../src/models/registry.js';
import { defineTrainingGraph } from '../src/train/training_graph.js';

const [arch = 'flatten_pvt_v2_b0', batchArg = '32', threadsArg = '2'] = process.argv.slice(2);
const batch = Number(batchArg);
const threads = Number(threadsArg);
const tg = defineTrainingGraph(resolveArchitecture(arch), { batch });
const products = new Set(['Gemm', 'ConvTranspose']); // beside MatMul and Conv, which the floor always keeps
const counts = new Map<string, number>();
for (const n of tg.graph.nodes) counts.set(n.op, (counts.get(n.op) ?? 0) + 1);
// Shapes of a training graph are the real ones (fixed batch): the floor's batch factor is 1.
const floor = await floorRate(tg, () => new Float32Array(), { batch: 1, threads, seconds: 6, keep: (n) => products.has(n.op) });
const step = await benchTrainStep(resolveArchitecture(arch), { batch, threads, seconds: 6 });
const kinds = ['MatMul', 'Gemm', 'Conv', 'ConvTranspose'].map((k) => `${counts.get(k) ?? 0} ${k}`).join(', ');
console.log(`${arch}, batch ${batch}, ${threads} threads; ${kinds}`);
console.log(`  products alone  ${floor.ms.toFixed(0).padStart(6)} ms  ${((1000 * batch) / floor.ms).toFixed(2).padStart(6)} images/s`);
console.log(`  training step   ${step.step_ms.toFixed(0).padStart(6)} ms  ${step.images_per_s.toFixed(2).padStart(6)} images/s`);
