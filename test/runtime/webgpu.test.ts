/**
 * onnxruntime-node's WebGPU provider on a software GPU (SwiftShader's Vulkan driver from Debian's
 * chromium): every fixture model and every registered T/B0 model must give the CPU provider's logits
 * (within 1e-4 of the largest logit) and top-5, with every node placed on the GPU. A machine without
 * a usable adapter skips these tests and prints why. The full-size models take 20–60 s each on
 * SwiftShader, so they, and the fixtures beyond one of each attention layout, run only with
 * `FLATTEN_WEBGPU_MODELS=all` (`npm run test:webgpu`).
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { topIndices } from '../../src/classify/topk.js';
import { serializeModel } from '../../src/graph/onnx.js';
import { readNpy } from '../../src/io/npy.js';
import { resolveArchitectureSpec } from '../../src/models/config_file.js';
import { defineModel } from '../../src/models/define.js';
import { randomWeights } from '../../src/models/init.js';
import { modelBytes } from '../../src/bench/profile.js';
import { placedRun } from '../../src/runtime/profile.js';
import type { Tensor } from '../../src/tensor.js';
import type { Graph, ParamSpec } from '../../src/graph/graph.js';
import { pack, paramLayout } from '../../src/train/layout.js';
import { defineTrainingGraph, TARGETS_NAME } from '../../src/train/training_graph.js';
import { defineUpdateGraph, updateScalars } from '../../src/train/update_graph.js';
import { webGpuStatus } from '../../src/runtime/webgpu.js';
import { cli, expectCleanFailure } from '../helpers/cli.js';
import { fixture } from '../helpers/fixtures.js';

const SWIFTSHADER = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (!process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER)) process.env.VK_ICD_FILENAMES = SWIFTSHADER;
const status = webGpuStatus();
if (!status.ok) console.log(`[webgpu] skipped: no usable WebGPU adapter here (${status.reason})`);

const FIXTURES = ['swin_mini', 'swin_mini_global', 'cswin_mini', 'cswin_mini_global', 'pvt_mini', 'pvt_mini_sr', 'pvt_v2_mini'];
const REGISTERED = ['flatten_swin_t', 'flatten_pvt_t', 'flatten_pvt_v2_b0', 'flatten_cswin_t', 'flatten_deit_t', 'deit_t'];

/** The model's ONNX bytes (with the fixture's weights, or random ones) and an input for it. */
function build(name: string) {
  if (FIXTURES.includes(name)) {
    const def = defineModel(resolveArchitectureSpec(fixture(name, 'config.json')));
    return { bytes: modelBytes(def, fixture(name, 'checkpoint.pth')), x: readNpy(fixture(name, 'input.npy')) };
  }
  const def = defineModel(resolveArchitectureSpec(name));
  const [c, h, wd] = def.inputShape;
  const x = new Float32Array(2 * c * h * wd);
  for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 0.37) * 1.5;
  return { bytes: modelBytes(def), x: { shape: [2, c, h, wd], data: x } };
}

const all = process.env.FLATTEN_WEBGPU_MODELS === 'all';
/**
 * By default PVTv2's layout (pooled keys, the DWC in the MLP), the one the browser tests on WebGPU
 * leave out: with theirs (windows, stripes, spatial reduction) CI covers one fixture of each layout.
 */
const models = all ? [...FIXTURES, ...REGISTERED] : ['pvt_v2_mini'];
const trained = all ? ['pvt_v2_mini', 'pvt_mini_sr', 'swin_mini', 'cswin_mini'] : ['pvt_v2_mini'];

const ADAMW = { name: 'adamw' as const, weightDecay: 0.05, eps: 1e-8, betas: [0.9, 0.999] as const, momentum: 0.9 };

/** Two groups, as the optimizer's: matrices, and 1-D parameters. */
const twoGroups = (g: Graph, trained: readonly ParamSpec[], fixed: readonly ParamSpec[]) =>
  paramLayout(
    [trained.filter((p) => p.shape.length > 1).map((p) => p.name), trained.filter((p) => p.shape.length === 1).map((p) => p.name)],
    fixed,
    g.params,
  );

/** The largest difference between two sets of outputs, each relative to the largest value of its CPU output. */
function worstRelative(gpu: Record<string, Tensor>, cpu: Record<string, Tensor>): number {
  let worst = 0;
  for (const [k, t] of Object.entries(cpu)) {
    const scale = t.data.reduce((m, v) => Math.max(m, Math.abs(v)), 0) || 1;
    for (let i = 0; i < t.data.length; i++) worst = Math.max(worst, Math.abs(gpu[k].data[i] - t.data[i]) / scale);
  }
  return worst;
}

describe.skipIf(!status.ok)(`WebGPU in Node (${status.adapter})`, () => {
  it.each(models)('%s: the CPU provider’s logits and top-5, every node on the GPU', async (name) => {
    const { bytes, x } = build(name);
    const t0 = performance.now();
    const gpu = await placedRun(bytes, { pixel_values: x }, ['webgpu']);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = await placedRun(bytes, { pixel_values: x }, ['cpu']);
    const a = gpu.outputs.logits.data;
    const b = cpu.outputs.logits.data;
    const scale = Math.max(...Array.from(b, Math.abs));
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i] - b[i]));
    const onCpu = gpu.placement.CPUExecutionProvider ?? {};
    console.log(
      `[webgpu] ${name}: max |webgpu - cpu| logits ${(diff / scale).toExponential(2)} of the largest; ${Object.values(gpu.placement.WebGpuExecutionProvider ?? {}).reduce((s, n) => s + n, 0)} nodes on WebGPU, ${JSON.stringify(onCpu)} on the CPU; ${seconds.toFixed(1)} s`,
    );
    expect(diff / scale).toBeLessThan(1e-4);
    const n = gpu.outputs.logits.shape[1];
    for (let i = 0; i < gpu.outputs.logits.shape[0]; i++) {
      expect(topIndices(a.subarray(i * n, (i + 1) * n), 5)).toEqual(topIndices(b.subarray(i * n, (i + 1) * n), 5));
    }
    expect(onCpu).toEqual({});
  });

  it.each(trained)(
    '%s training step on flat buffers, the update included: the CPU provider’s loss, gradients and state; no node on the CPU',
    async (name) => {
      const B = 2;
      const update = { optimizer: ADAMW, weightDecays: [0.05, 0], clipGrad: 0.5, emaDecay: 0.99 };
      const tg = defineTrainingGraph(resolveArchitectureSpec(fixture(name, 'config.json')), { batch: B, layout: twoGroups, update });
      const w = randomWeights(tg.params, 0);
      const [c, h, wd] = tg.inputShape;
      const feeds: Record<string, Tensor> = {
        pixel_values: { shape: [B, c, h, wd], data: Float32Array.from({ length: B * c * h * wd }, (_, i) => Math.sin(i * 0.37)) },
        [TARGETS_NAME]: { shape: [B, tg.numClasses], data: new Float32Array(B * tg.numClasses).fill(1 / tg.numClasses) },
      };
      for (const b of tg.layout!.groups) feeds[b.name] = { shape: [b.size], data: pack(b, (n) => w.get(n)!) };
      // the update's state and scalars (the step is the whole batch: forward, backward and update in one graph)
      for (const input of tg.graph.inputs) {
        if (feeds[input.name] || input.name.startsWith('drop_path')) continue;
        const n = input.shape.reduce((a, b) => a * b, 1);
        feeds[input.name] = {
          shape: [...input.shape],
          data: Float32Array.from({ length: n }, (_, i) => (input.name.startsWith('ema.') || input.name === 'fixed' ? Math.cos(i) : 0.01)),
        };
      }
      for (const [k, v] of Object.entries(
        updateScalars(
          ADAMW,
          [
            { lr: 1e-3, wd: 0.05, index: 0 },
            { lr: 1e-3, wd: 0, index: 1 },
          ],
          3,
        ),
      ))
        feeds[k] = { shape: [], data: Float32Array.of(v) };
      for (const d of tg.graph.dropPaths) feeds[d.name] = { shape: [...d.shape], data: new Float32Array(B).fill(1) };
      const bytes = serializeModel(tg.graph, () => new Float32Array());
      const gpu = await placedRun(bytes, feeds, ['webgpu']);
      const cpu = await placedRun(bytes, feeds, ['cpu']);
      const worst = worstRelative(gpu.outputs, cpu.outputs);
      const onCpu = gpu.placement.CPUExecutionProvider ?? {};
      console.log(
        `[webgpu] ${name} training step: ${Object.keys(cpu.outputs).length} outputs (loss, gradients, next state), worst |webgpu - cpu| ${worst.toExponential(2)} of the largest; on the CPU: ${JSON.stringify(onCpu)}`,
      );
      expect(worst).toBeLessThan(1e-4);
      expect(onCpu).toEqual({});
    },
  );

  it('the update after a step (AdamW, clipping, EMA over flat buffers): the CPU provider’s state; no node on the CPU', async () => {
    const tg = defineTrainingGraph(resolveArchitectureSpec(fixture('pvt_v2_mini', 'config.json')), {
      batch: 1,
      layout: (g, trained, fixed) =>
        paramLayout(
          [trained.filter((p) => p.shape.length > 1).map((p) => p.name), trained.filter((p) => p.shape.length === 1).map((p) => p.name)],
          fixed,
          g.params,
        ),
    });
    const layout = tg.layout!;
    const u = defineUpdateGraph(layout, {
      optimizer: { name: 'adamw', weightDecay: 0.05, eps: 1e-8, betas: [0.9, 0.999], momentum: 0.9 },
      weightDecays: [0.05, 0],
      clipGrad: 0.5,
      emaDecay: 0.99,
    });
    const feeds: Record<string, Tensor> = {};
    for (const input of u.graph.inputs) {
      const n = input.shape.reduce((a, b) => a * b, 1);
      feeds[input.name] = {
        shape: [...input.shape],
        data: Float32Array.from({ length: n }, (_, i) =>
          input.name.includes('exp_avg_sq') ? 0.01 : Math.sin(i * 0.11 + input.name.length),
        ),
      };
    }
    Object.assign(
      feeds,
      Object.fromEntries(
        Object.entries(
          updateScalars(
            u.graph.inputs.some((i) => i.name === 'bias_correction2_sqrt')
              ? { name: 'adamw', weightDecay: 0.05, eps: 1e-8, betas: [0.9, 0.999], momentum: 0.9 }
              : { name: 'sgd', weightDecay: 0, eps: 0, betas: [0, 0], momentum: 0.9 },
            [
              { lr: 1e-3, wd: 0.05, index: 0 },
              { lr: 1e-3, wd: 0, index: 1 },
            ],
            3,
          ),
        ).map(([k, v]) => [k, { shape: [], data: Float32Array.of(v) }]),
      ),
    );
    const bytes = serializeModel(u.graph, () => new Float32Array());
    const gpu = await placedRun(bytes, feeds, ['webgpu']);
    const cpu = await placedRun(bytes, feeds, ['cpu']);
    const worst = worstRelative(gpu.outputs, cpu.outputs);
    const onCpu = gpu.placement.CPUExecutionProvider ?? {};
    console.log(
      `[webgpu] update graph: ${u.graph.nodes.length} nodes, worst |webgpu - cpu| ${worst.toExponential(2)} of the largest; on the CPU: ${JSON.stringify(onCpu)}`,
    );
    expect(worst).toBeLessThan(1e-5);
    expect(onCpu).toEqual({});
  });
});

describe('WebGPU without an adapter', () => {
  it('stops with one line saying what to do, and the CPU provider still works', () => {
    const dir = mkdtempSync(join(tmpdir(), 'flatten-webgpu-'));
    const args = (ep: string) => [
      'predict',
      '--arch',
      fixture('pvt_mini', 'config.json'),
      '--checkpoint',
      fixture('pvt_mini', 'checkpoint.pth'),
      '--input',
      fixture('pvt_mini', 'input.npy'),
      '--save-logits',
      join(dir, `${ep}.npy`),
      '--ep',
      ep,
    ];
    const line = expectCleanFailure(cli(args('webgpu'), { VK_ICD_FILENAMES: '/nonexistent/icd.json' }));
    expect(line).toMatch(
      /--ep webgpu: onnxruntime found no usable WebGPU adapter \(VK_ICD_FILENAMES names \/nonexistent\/icd\.json, which does not exist\); .* or use --ep cpu$/,
    );
    expect(existsSync(join(dir, 'webgpu.npy'))).toBe(false);
    expect(cli(args('cpu'), { VK_ICD_FILENAMES: '/nonexistent/icd.json' }).status).toBe(0);
  });
});
