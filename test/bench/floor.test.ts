import { describe, expect, it } from 'vitest';
import {
  type FloorGraph,
  floorGraph,
  floorRate,
  isProduct,
  modelWork,
  necessaryWork,
  partialGraph,
  trainingBoundWork,
} from '../../src/bench/floor.js';
import { serializeModel } from '../../src/graph/onnx.js';
import { countMacs, isSumProduct } from '../../src/graph/macs.js';
import { resolveArchitectureSpec } from '../../src/models/config_file.js';
import { defineModel } from '../../src/models/define.js';
import { defineTrainingGraph } from '../../src/train/training_graph.js';
import { randomWeights } from '../../src/models/init.js';
import { createSession } from '../../src/runtime/session.js';
import { profileOps } from '../../src/runtime/profile.js';
import { fixture } from '../helpers/fixtures.js';

/** For each op, its nodes in a partial graph and the kernels onnxruntime ran for it in one run. */
async function kernelsRun(part: FloorGraph, ops: readonly string[], label: string) {
  const inGraph = ops.map((o) => part.graph.nodes.filter((n) => n.op === o).length);
  const ran = await profileOps(
    serializeModel(part.graph, () => new Float32Array()),
    part.inputs,
    { threads: 1, runs: 1 },
  );
  const kernels = ops.map((o) => ran.find((r) => r.op === o)?.nodes ?? 0);
  console.log(`[floor] swin_mini ${label}: ${ops.map((o, i) => `${o} ${kernels[i]}/${inGraph[i]}`).join(', ')} ran`);
  return { inGraph, kernels };
}

describe('GEMM-only floor', () => {
  for (const name of ['swin_mini', 'cswin_mini', 'pvt_v2_mini', 'pvt_mini_sr']) {
    it(`${name}: every product of the model at its real shape, none merged or pruned by onnxruntime`, async () => {
      const def = defineModel(resolveArchitectureSpec(fixture(name, 'config.json')));
      const w = randomWeights(def.params, 0);
      const batch = 3;
      const floor = floorGraph(def, batch);
      const products = def.graph.nodes.filter((n) => isProduct(def.graph, n)).length;
      // the sums written as products with a row of ones (mean over tokens, focusing norms) are not products
      const sums = def.graph.nodes.filter((n) => isSumProduct(def.graph, n)).length;
      expect(sums).toBeGreaterThan(0);
      expect(products + sums).toBe(def.graph.nodes.filter((n) => n.op === 'MatMul' || n.op === 'Conv').length);
      expect(floor.graph.nodes.filter((n) => n.op === 'MatMul' || n.op === 'Conv')).toHaveLength(products);
      expect(floor.macs).toBe(countMacs(def.graph) * batch);
      const bytes = serializeModel(floor.graph, (n) => w.get(n)!);
      const s = await createSession(bytes, { threads: 1 });
      expect(floor.macsOf(await s.run(floor.inputs))).toBe(floor.macs);
      await s.release();
      const ran = await profileOps(bytes, floor.inputs, { threads: 1, runs: 1 });
      const kernels = ran.filter((o) => o.op === 'MatMul' || o.op === 'Conv').reduce((a, o) => a + o.nodes, 0);
      expect(kernels).toBe(products);
      const rate = await floorRate(def, (n) => w.get(n)!, { batch, threads: 1, seconds: 0.1 });
      expect(rate.gflops).toBeCloseTo((2 * floor.macs) / rate.ms / 1e6, 6);
      console.log(
        `[floor] ${name}: ${products} products, ${(floor.macs / 1e6).toFixed(1)} MMACs at batch ${batch}, ${rate.gflops.toFixed(1)} GFLOP/s`,
      );
    });
  }

  it("necessaryWork picks each block's GELU chain, LayerNorms, two residual sums and softmax", () => {
    const def = defineModel(resolveArchitectureSpec(fixture('swin_mini', 'config.json'))); // 8 blocks, LLSS
    const g = def.graph;
    const count = (keep: (n: (typeof g.nodes)[number]) => boolean, op: string) => g.nodes.filter((n) => keep(n) && n.op === op).length;
    const gelu = necessaryWork(g, ['gelu']);
    expect(count(gelu, 'Erf')).toBe(8);
    expect(g.nodes.filter(gelu).length).toBe(8 * 6); // Add(bias), Div, Erf, Add, Mul, Mul
    expect(count(necessaryWork(g, ['residual']), 'Add')).toBe(16);
    expect(count(necessaryWork(g, ['softmax']), 'Softmax')).toBe(4); // the S stages' blocks
    const all = necessaryWork(g);
    expect(g.nodes.filter(all).length).toBe(48 + 16 + 4 + g.nodes.filter((n) => n.op === 'LayerNormalization').length);
    expect(g.nodes.filter((n) => all(n) && (n.op === 'MatMul' || n.op === 'Conv'))).toHaveLength(0);
  });

  it('the training bound keeps the forward GELUs, LayerNorms, residual sums and softmaxes, and their backward only', () => {
    const tg = defineTrainingGraph(resolveArchitectureSpec(fixture('swin_mini', 'config.json')), { batch: 2 });
    const g = tg.graph;
    const keep = trainingBoundWork(tg);
    const forward = g.nodes.filter((n) => !tg.origins.has(n));
    const backward = g.nodes.filter((n) => tg.origins.has(n));
    const kept = (nodes: typeof g.nodes, op: string) => nodes.filter((n) => keep(n) && n.op === op).length;
    expect(kept(forward, 'Gelu')).toBe(8);
    expect(kept(forward, 'LayerNormalization')).toBe(forward.filter((n) => n.op === 'LayerNormalization').length);
    expect(kept(forward, 'Softmax')).toBe(4);
    expect(kept(forward, 'Add')).toBe(16); // the residual sums, no bias add
    expect(forward.filter(keep)).toHaveLength(8 + 16 + 4 + forward.filter((n) => n.op === 'LayerNormalization').length);
    // backward: exactly the nodes of those forward nodes' rules and gradient sums
    const fromNecessary = backward.filter((n) => ['Gelu', 'LayerNormalization', 'Softmax'].includes(tg.origins.get(n)!.op));
    expect(fromNecessary.length).toBeGreaterThan(0);
    for (const n of fromNecessary) expect(keep(n)).toBe(true);
    for (const n of backward.filter((b) => ['MatMul', 'Transpose', 'Reshape', 'Mul'].includes(tg.origins.get(b)!.op)))
      expect(keep(n)).toBe(false);
    // the Gelu rule's own Erf does not make the forward node before the GELU (its bias add) look like one
    const geluInputs = new Set(forward.filter((n) => n.op === 'Gelu').map((n) => n.inputs[0]));
    for (const n of forward.filter((f) => f.outputs.some((o) => geluInputs.has(o)))) expect(keep(n)).toBe(false);
  });

  it("modelWork picks focused attention's element-wise work, the bias adds and the reorders, with their backward", () => {
    const tg = defineTrainingGraph(resolveArchitectureSpec(fixture('swin_mini', 'config.json')), { batch: 2, nchwc: true }); // LLSS
    const g = tg.graph;
    const forward = g.nodes.filter((n) => !tg.origins.has(n));
    const focused = modelWork(tg, ['focused']);
    const picked = forward.filter(focused);
    // the two L stages' four blocks: ReLU on q and k, f_p's two Pows, softplus(scale)
    expect(picked.filter((n) => n.op === 'Relu')).toHaveLength(8);
    expect(picked.filter((n) => n.op === 'Pow')).toHaveLength(8);
    expect(picked.filter((n) => n.op === 'Softplus')).toHaveLength(4);
    for (const n of picked) {
      expect(n.name).toMatch(/^stage[12]\.block\d\.attn\//);
      expect(['MatMul', 'Transpose', 'Reshape', 'Softmax']).not.toContain(n.op);
    }
    expect(g.nodes.filter((n) => tg.origins.has(n) && focused(n)).length).toBeGreaterThan(picked.length);
    const bias = modelWork(tg, ['bias']);
    const adds = forward.filter(bias);
    expect(adds.every((n) => n.op === 'Add')).toBe(true);
    // each block's fc1, fc2 and attention output projection at least; no residual sum, no focused work
    expect(adds.length).toBeGreaterThanOrEqual(8 * 3);
    expect(adds.filter((n) => trainingBoundWork(tg)(n) || focused(n))).toHaveLength(0);
    expect(g.nodes.some((n) => tg.origins.get(n)?.op === 'Add' && bias(n) && n.op !== 'Add')).toBe(true);
    const reorders = g.nodes.filter((n) => n.op === 'ReorderInput' || n.op === 'ReorderOutput');
    expect(reorders.length).toBeGreaterThan(0);
    expect(g.nodes.filter(modelWork(tg, ['reorder']))).toEqual(reorders);
    const plain = defineTrainingGraph(resolveArchitectureSpec(fixture('swin_mini', 'config.json')), { batch: 2 });
    expect(plain.graph.nodes.filter(modelWork(plain, ['reorder']))).toHaveLength(0);
  });

  it("runs all of a training graph's bound: no work pruned behind a shape onnxruntime knows statically", async () => {
    const tg = defineTrainingGraph(resolveArchitectureSpec(fixture('swin_mini', 'config.json')), { batch: 2 });
    const bound = partialGraph(tg, 1, trainingBoundWork(tg));
    // the LayerNorms' weight and bias gradients are sums to a fixed (C): their Shape nodes fold to
    // constants, and without an element of each value kept the sums and their products went unrun
    const ops = ['ReduceSum', 'LayerNormalization', 'Softmax', 'Gelu'];
    const { inGraph, kernels } = await kernelsRun(bound, ops, 'training bound');
    expect(inGraph[0]).toBeGreaterThan(0);
    expect(kernels).toEqual(inGraph);
  });

  it("runs all of the model's own work kept with the bound: focusing powers, bias gradients, reorders", async () => {
    const tg = defineTrainingGraph(resolveArchitectureSpec(fixture('swin_mini', 'config.json')), { batch: 2, nchwc: true });
    const bound = trainingBoundWork(tg);
    const own = modelWork(tg);
    const part = partialGraph(tg, 1, (n) => bound(n) || own(n));
    const { inGraph, kernels } = await kernelsRun(part, ['Pow', 'ReduceL2', 'ReorderInput', 'ReorderOutput'], 'bound + model work');
    expect(Math.min(...inGraph)).toBeGreaterThan(0);
    expect(kernels).toEqual(inGraph);
  });
});
