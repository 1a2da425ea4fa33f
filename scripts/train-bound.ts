/**
 * How fast a training step could be if everything but some of its work took no time, each ceiling a
 * part of the step's own training graph at its real shapes (`partialGraph`), timed beside the step:
 *
 *   products alone                        MatMul, Gemm, Conv, ConvTranspose, forward and backward
 *   + GELU, LayerNorm, softmax, residuals  the bound `bench --train` reports (`trainingBoundWork`)
 *   + focused attention's element-wise work, + bias adds, + blocked-layout reorders (`modelWork`)
 *
 * each ceiling adding to the one before, so that the last leaves only the step's layout (transposes,
 * the convolutions' gradient layout), its loss and its update out.
 *
 *   npx tsx scripts/train-bound.ts flatten_pvt_v2_b0 32 2 60
 *
 * (arch, batch, threads, seconds per ceiling = 60). One ceiling's graph at a time is open beside the
 * trainer (two at once would hold a step's memory twice); each is timed interleaved with the step
 * (rounds of three runs of each, the first after a switch not counted, `timeInterleaved`), and the
 * step's share of it taken round by round (`pairedRatio`), so that a shared machine's drift falls on
 * both alike. Prints the CPU, each ceiling's median time and images/s, and the step's share of it:
 * median, lowest and highest over the rounds. Swin-T's steps take seconds: give it 150 or more.
 */
import { cpus } from 'node:os';
import { isTrainingProduct, modelWork, openPartial, trainingBoundWork } from '../src/bench/floor.js';
import { pairedRatio, timeInterleaved } from '../src/bench/timing.js';
import { benchTrainer } from '../src/bench/train_step.js';
import type { GraphNode } from '../src/graph/graph.js';
import { resolveArchitecture } from '../src/models/registry.js';

const [arch = 'flatten_pvt_v2_b0', batchArg = '32', threadsArg = '2', secondsArg = '60'] = process.argv.slice(2);
const { trainer, step, batch, threads } = await benchTrainer(resolveArchitecture(arch), {
  batch: Number(batchArg),
  threads: Number(threadsArg),
});
const tg = trainer.graph;
const bound = trainingBoundWork(tg);
const work = (kinds: Parameters<typeof modelWork>[1]) => modelWork(tg, kinds);
const ceilings: [string, (n: GraphNode) => boolean][] = [
  ['products alone', isTrainingProduct],
  ['+ GELU, LayerNorm, softmax, residual sums', bound],
  ["+ focused attention's element-wise work", work(['focused'])],
  ['+ bias adds', work(['focused', 'bias'])],
  ['+ blocked-layout reorders', work(['focused', 'bias', 'reorder'])],
];
const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
const stepMs: number[] = [];
console.log(`${arch}, batch ${batch}, ${threads} threads, ${cpus()[0]?.model ?? 'unknown CPU'}`);
try {
  let previous = -1; // nodes kept by the ceiling before: a ceiling that adds none is not timed
  for (const [i, [label, extra]] of ceilings.entries()) {
    const keep = (n: GraphNode) => isTrainingProduct(n) || (i > 0 && (bound(n) || extra(n)));
    const count = tg.graph.nodes.filter(keep).length;
    if (count === previous) {
      console.log(`  ${label.padEnd(44)} (no such nodes in this graph)`);
      continue;
    }
    previous = count;
    const part = await openPartial(tg, () => new Float32Array(), { batch: 1, threads, keep });
    try {
      const t = await timeInterleaved({ step, part: part.run }, Number(secondsArg), 3);
      const share = pairedRatio(t.part, t.step);
      stepMs.push(t.step.medianMs);
      console.log(
        `  ${label.padEnd(44)} ${t.part.medianMs.toFixed(0).padStart(6)} ms ${((1000 * batch) / t.part.medianMs).toFixed(2).padStart(7)} images/s  the step at ${pct(share.median)} of it (${share.rounds} rounds, ${pct(share.min)}–${pct(share.max)})`,
      );
    } finally {
      await part.release();
    }
  }
  const ms = [...stepMs].sort((a, b) => a - b)[stepMs.length >> 1];
  console.log(
    `  ${'training step (median over the pairings)'.padEnd(44)} ${ms.toFixed(0).padStart(6)} ms ${((1000 * batch) / ms).toFixed(2).padStart(7)} images/s`,
  );
} finally {
  await trainer.release();
}
