/**
 * The official optimizers as graph work (update_graph.ts): the two parameter groups, and every update
 * — AdamW, SGD with Nesterov momentum, clipping, EMA — run by onnxruntime and held to PyTorch's
 * float32 arithmetic written out here element by element (bit for bit), and to the formulas in
 * float64.
 */
import { describe, expect, it } from 'vitest';
import type { ParamSpec } from '../../src/graph/graph.js';
import { serializeModel } from '../../src/graph/onnx.js';
import { nodeStepRuntime } from '../../src/runtime/session.js';
import type { DeviceTensor } from '../../src/runtime/types.js';
import type { Tensor } from '../../src/tensor.js';
import { paramLayout } from '../../src/train/layout.js';
import { type OptimizerSettings, paramGroups } from '../../src/train/optimizer.js';
import { defineUpdateGraph, nextName, updateScalars, type UpdateOptions } from '../../src/train/update_graph.js';

const spec = (official: string, shape: number[]): ParamSpec => ({ name: official, official, shape });
const f = Math.fround;

/** Runs `steps` updates of one parameter group `w` (and an unused fixed parameter) through the graph. */
async function runUpdates(o: UpdateOptions, p0: Float32Array, grads: Float32Array[], lrs: number[], fixed?: Float32Array) {
  const w = spec('w', [p0.length]);
  const specs = new Map([['w', w]]);
  if (fixed) specs.set('unused', spec('unused', [fixed.length]));
  const layout = paramLayout([['w'], []], fixed ? [specs.get('unused')!] : [], specs);
  const u = defineUpdateGraph(layout, o);
  const rt = nodeStepRuntime({ threads: 1 });
  const session = await rt.createSession(
    serializeModel(u.graph, () => new Float32Array()),
    u.state.map(nextName),
  );
  const state = new Map<string, Tensor | DeviceTensor>();
  state.set('params.0', { shape: [p0.length], data: Float32Array.from(p0) });
  for (const k of u.state)
    if (!state.has(k))
      state.set(k, { shape: [p0.length], data: k.startsWith('ema.') ? Float32Array.from(p0) : new Float32Array(p0.length) });
  if (fixed) {
    state.set('fixed', { shape: [fixed.length], data: fixed });
    state.set('ema.fixed', { shape: [fixed.length], data: Float32Array.from(fixed) });
  }
  const norms: number[] = [];
  for (let t = 0; t < grads.length; t++) {
    const scalars = updateScalars(o.optimizer, [{ lr: lrs[t], wd: o.weightDecays[0], index: 0 }], t + 1);
    const feeds: Record<string, Tensor | DeviceTensor> = { 'grads.0': { shape: [p0.length], data: grads[t] } };
    for (const [k, v] of Object.entries(scalars)) feeds[k] = { shape: [], data: Float32Array.of(v) };
    for (const k of u.state) feeds[k] = state.get(k)!;
    if (fixed && o.emaDecay !== null) feeds.fixed = state.get('fixed')!;
    const out = await session.run(feeds, { host: ['grad_norm'], device: u.state.map(nextName) });
    norms.push(out.host.grad_norm.data[0]);
    for (const k of u.state) state.set(k, out.device[nextName(k)]);
  }
  await session.release();
  const read = async (k: string) => {
    const t = state.get(k)!;
    return 'read' in t ? t.read() : t.data;
  };
  return { read, norms, state: u.state };
}

const adamw: OptimizerSettings = { name: 'adamw', weightDecay: 0.05, eps: 1e-8, betas: [0.9, 0.999], momentum: 0 };
const sgd: OptimizerSettings = { name: 'sgd', weightDecay: 0.1, eps: 0, betas: [0, 0], momentum: 0.9 };

describe('optimizers', () => {
  it('puts 1-D parameters, biases, no_weight_decay names and keywords in the group without decay', () => {
    const params = [
      spec('a.weight', [2, 2]),
      spec('a.bias', [2]),
      spec('norm.weight', [2]),
      spec('absolute_pos_embed', [1, 4, 2]),
      spec('x.relative_position_bias_table', [9, 2]),
      spec('pos', [1, 2, 2]),
    ];
    const [decay, none] = paramGroups(
      params,
      { noWeightDecay: ['absolute_pos_embed'], noWeightDecayKeywords: ['relative_position_bias_table'] },
      0.05,
      1e-3,
    );
    expect(decay.params).toEqual(['a.weight', 'pos']);
    expect(none.params).toEqual(['a.bias', 'norm.weight', 'absolute_pos_embed', 'x.relative_position_bias_table']);
    expect(none.weightDecay).toBe(0);
  });

  it('AdamW: decoupled decay, bias-corrected moments, bit for bit as torch.optim.AdamW in float32', async () => {
    const p0 = Float32Array.of(0.5, -1, 2);
    const grads = [Float32Array.of(0.1, -0.2, 0.3), Float32Array.of(-0.05, 0.4, 0.0), Float32Array.of(1e-3, 3, -2)];
    const lrs = [0.01, 0.02, 0.005];
    const o: UpdateOptions = { optimizer: adamw, weightDecays: [0.05, 0], clipGrad: null, emaDecay: null };
    const { read } = await runUpdates(o, p0, grads, lrs);
    // PyTorch 1.13's single-tensor AdamW, each operation rounded to float32
    const p = Float32Array.from(p0);
    const m = new Float32Array(3);
    const v = new Float32Array(3);
    const r64 = Array.from(p0);
    const m64 = [0, 0, 0];
    const v64 = [0, 0, 0];
    grads.forEach((g, t) => {
      const lr = lrs[t];
      const stepSize = f(lr / (1 - 0.9 ** (t + 1)));
      const bc2 = f(Math.sqrt(1 - 0.999 ** (t + 1)));
      for (let i = 0; i < 3; i++) {
        const pi = f(p[i] * f(1 - lr * 0.05));
        m[i] = f(f(m[i] * f(0.9)) + f(g[i] * f(0.1)));
        v[i] = f(f(v[i] * f(0.999)) + f(f(g[i] * g[i]) * f(1 - 0.999)));
        p[i] = f(pi - f(stepSize * f(m[i] / f(f(f(Math.sqrt(v[i])) / bc2) + f(1e-8)))));
        r64[i] *= 1 - lr * 0.05;
        m64[i] = 0.9 * m64[i] + 0.1 * g[i];
        v64[i] = 0.999 * v64[i] + 0.001 * g[i] ** 2;
        r64[i] -= (lr / (1 - 0.9 ** (t + 1))) * (m64[i] / (Math.sqrt(v64[i]) / Math.sqrt(1 - 0.999 ** (t + 1)) + 1e-8));
      }
    });
    expect(Array.from(await read('params.0'))).toEqual(Array.from(p));
    expect(Array.from(await read('exp_avg.0'))).toEqual(Array.from(m));
    expect(Array.from(await read('exp_avg_sq.0'))).toEqual(Array.from(v));
    (await read('params.0')).forEach((x, i) => expect(x).toBeCloseTo(r64[i], 6));
  });

  it('SGD: coupled decay, Nesterov momentum, the buffer starting as the first step (torch.optim.SGD)', async () => {
    const p0 = Float32Array.of(1, -2);
    const grads = [Float32Array.of(0.3, 0.1), Float32Array.of(-0.2, 0.5), Float32Array.of(0.7, -0.1)];
    const o: UpdateOptions = { optimizer: sgd, weightDecays: [0.1, 0], clipGrad: null, emaDecay: null };
    const { read } = await runUpdates(o, p0, grads, [0.5, 0.5, 0.25]);
    const ref = [1, -2];
    const buf = [0, 0];
    grads.forEach((g, t) => {
      const lr = [0.5, 0.5, 0.25][t];
      for (let i = 0; i < 2; i++) {
        const d = g[i] + 0.1 * ref[i];
        buf[i] = t === 0 ? d : 0.9 * buf[i] + d;
        ref[i] -= lr * (d + 0.9 * buf[i]);
      }
    });
    (await read('params.0')).forEach((x, i) => expect(x).toBeCloseTo(ref[i], 5));
    (await read('momentum.0')).forEach((x, i) => expect(x).toBeCloseTo(buf[i], 5));
  });

  it('clips to the global norm only when it exceeds the limit, reports the norm before clipping, and keeps the EMA', async () => {
    const p0 = Float32Array.of(0.5, -1, 2, 0.25);
    const grads = [Float32Array.of(3, -4, 0, 0), Float32Array.of(0.1, 0.2, -0.2, 0)];
    const fixed = Float32Array.of(0.3, -0.7);
    const o: UpdateOptions = { optimizer: sgd, weightDecays: [0, 0], clipGrad: 1, emaDecay: 0.9 };
    const { read, norms } = await runUpdates(o, p0, grads, [0.1, 0.1], fixed);
    expect(norms[0]).toBeCloseTo(5, 6);
    expect(norms[1]).toBeCloseTo(0.3, 6);
    // step 1 clipped to norm 1 (coefficient 1 / (5 + 1e-6)), step 2 not
    const c = 1 / (5 + 1e-6);
    const ref = Array.from(p0);
    const buf = [0, 0, 0, 0];
    const ema = Array.from(p0);
    grads.forEach((g, t) => {
      for (let i = 0; i < 4; i++) {
        const d = t === 0 ? g[i] * c : g[i];
        buf[i] = t === 0 ? d : 0.9 * buf[i] + d;
        ref[i] -= 0.1 * (d + 0.9 * buf[i]);
        ema[i] = 0.9 * ema[i] + 0.1 * ref[i];
      }
    });
    (await read('params.0')).forEach((x, i) => expect(x).toBeCloseTo(ref[i], 6));
    (await read('ema.params.0')).forEach((x, i) => expect(x).toBeCloseTo(ema[i], 6));
    // the EMA of a parameter that is not trained moves only by float32 rounding, as timm's does
    (await read('ema.fixed')).forEach((x, i) => expect(x).toBeCloseTo(fixed[i], 7));
  });
});
