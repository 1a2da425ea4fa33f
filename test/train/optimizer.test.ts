import { describe, expect, it } from 'vitest';
import type { ParamSpec } from '../../src/graph/graph.js';
import { Optimizer, paramGroups } from '../../src/train/optimizer.js';

const spec = (official: string, shape: number[]): ParamSpec => ({ name: official, official, shape });

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

  it('AdamW: decoupled decay, bias-corrected moments (as torch.optim.AdamW)', () => {
    const o = new Optimizer({ name: 'adamw', weightDecay: 0.05, eps: 1e-8, betas: [0.9, 0.999], momentum: 0 }, [
      { params: ['w'], weightDecay: 0.05, lr: 0.01, initialLr: 0.01 },
    ]);
    const p = Float32Array.of(0.5, -1, 2);
    const grads = [Float32Array.of(0.1, -0.2, 0.3), Float32Array.of(-0.05, 0.4, 0.0)];
    const ref = [0.5, -1, 2];
    const m = [0, 0, 0];
    const v = [0, 0, 0];
    grads.forEach((g, t) => {
      o.step(new Map([['w', p]]), new Map([['w', g]]));
      for (let i = 0; i < 3; i++) {
        ref[i] *= 1 - 0.01 * 0.05;
        m[i] = 0.9 * m[i] + 0.1 * g[i];
        v[i] = 0.999 * v[i] + 0.001 * g[i] ** 2;
        const denom = Math.sqrt(v[i]) / Math.sqrt(1 - 0.999 ** (t + 1)) + 1e-8;
        ref[i] -= (0.01 / (1 - 0.9 ** (t + 1))) * (m[i] / denom);
      }
    });
    p.forEach((x, i) => expect(x).toBeCloseTo(ref[i], 6));
    expect(o.state.get('w')!.step).toBe(2);
  });

  it('SGD: coupled decay, momentum with Nesterov (as torch.optim.SGD, nesterov=True)', () => {
    const o = new Optimizer({ name: 'sgd', weightDecay: 0.1, eps: 0, betas: [0, 0], momentum: 0.9 }, [
      { params: ['w'], weightDecay: 0.1, lr: 0.5, initialLr: 0.5 },
    ]);
    const p = Float32Array.of(1, -2);
    const grads = [Float32Array.of(0.3, 0.1), Float32Array.of(-0.2, 0.5)];
    const ref = [1, -2];
    const buf = [0, 0];
    grads.forEach((g, t) => {
      o.step(new Map([['w', p]]), new Map([['w', g]]));
      for (let i = 0; i < 2; i++) {
        const d = g[i] + 0.1 * ref[i];
        buf[i] = t === 0 ? d : 0.9 * buf[i] + d;
        ref[i] -= 0.5 * (d + 0.9 * buf[i]);
      }
    });
    p.forEach((x, i) => expect(x).toBeCloseTo(ref[i], 6));
  });

  it('leaves a parameter without a gradient untouched, decay included', () => {
    const o = new Optimizer({ name: 'adamw', weightDecay: 0.05, eps: 1e-8, betas: [0.9, 0.999], momentum: 0 }, [
      { params: ['w', 'unused'], weightDecay: 0.05, lr: 0.1, initialLr: 0.1 },
    ]);
    const unused = Float32Array.of(3);
    o.step(
      new Map([
        ['w', Float32Array.of(1)],
        ['unused', unused],
      ]),
      new Map([['w', Float32Array.of(1)]]),
    );
    expect(unused[0]).toBe(3);
    expect(o.state.has('unused')).toBe(false);
  });
});
