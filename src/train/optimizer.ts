/**
 * The official optimizers (`optimizer.py`): AdamW or SGD with Nesterov momentum over two parameter
 * groups — weight decay for every parameter except those with one dimension, names ending in
 * `.bias`, the model's `no_weight_decay()` names and names containing a `no_weight_decay_keywords()`
 * keyword, which get none. The updates follow `torch.optim.AdamW` and `torch.optim.SGD` (PyTorch
 * 1.13) step for step in float32; a parameter without a gradient is left untouched, decay included.
 */
import type { ParamSpec } from '../graph/graph.js';

/** `TRAIN.OPTIMIZER` and `TRAIN.WEIGHT_DECAY`. */
export interface OptimizerSettings {
  readonly name: 'adamw' | 'sgd';
  readonly weightDecay: number;
  readonly eps: number;
  readonly betas: readonly [number, number];
  readonly momentum: number;
}

/** One parameter group: its members (our names, official order), rate and decay. */
export interface ParamGroup {
  readonly params: readonly string[];
  readonly weightDecay: number;
  /** The rate the next step uses (the scheduler sets it after each step). */
  lr: number;
  /** The base rate (`initial_lr`). */
  readonly initialLr: number;
}

/** Per-parameter state: AdamW's step count and moments, or SGD's momentum buffer. */
export interface ParamState {
  step: number;
  expAvg?: Float32Array;
  expAvgSq?: Float32Array;
  momentumBuffer?: Float32Array;
}

/**
 * The two official groups over `params` given in the official `named_parameters()` order.
 *
 * @example
 * ```ts
 * const groups = paramGroups(ordered, swinFamily, 0.05, 5e-4);
 * groups[1].params; // ['patch_embed.proj.bias', …]: no weight decay
 * ```
 */
export function paramGroups(
  params: readonly ParamSpec[],
  skip: { noWeightDecay: readonly string[]; noWeightDecayKeywords: readonly string[] },
  weightDecay: number,
  lr: number,
): ParamGroup[] {
  const decay: string[] = [];
  const noDecay: string[] = [];
  for (const p of params) {
    const name = p.official;
    const exempt =
      p.shape.length === 1 ||
      name.endsWith('.bias') ||
      skip.noWeightDecay.includes(name) ||
      skip.noWeightDecayKeywords.some((k) => name.includes(k));
    (exempt ? noDecay : decay).push(p.name);
  }
  return [
    { params: decay, weightDecay, lr, initialLr: lr },
    { params: noDecay, weightDecay: 0, lr, initialLr: lr },
  ];
}

const f = Math.fround;

/**
 * One `torch.optim.AdamW` step on one parameter:
 *   p ← p·(1 − lr·wd);  m ← β₁m + (1 − β₁)g;  v ← β₂v + (1 − β₂)g²;
 *   p ← p − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
 */
function adamw(p: Float32Array, g: Float32Array, s: ParamState, lr: number, wd: number, o: OptimizerSettings): void {
  const [b1, b2] = o.betas;
  s.step += 1;
  const m = (s.expAvg ??= new Float32Array(p.length));
  const v = (s.expAvgSq ??= new Float32Array(p.length));
  const decay = f(1 - lr * wd);
  const c1 = f(1 - b1);
  const c2 = f(1 - b2);
  const fb1 = f(b1);
  const fb2 = f(b2);
  const stepSize = f(lr / (1 - b1 ** s.step));
  const bc2Sqrt = f(Math.sqrt(1 - b2 ** s.step));
  const eps = f(o.eps);
  for (let i = 0; i < p.length; i++) {
    const gi = g[i];
    const pi = f(p[i] * decay);
    const mi = f(f(m[i] * fb1) + f(gi * c1));
    const vi = f(f(v[i] * fb2) + f(f(gi * gi) * c2));
    m[i] = mi;
    v[i] = vi;
    const denom = f(f(Math.sqrt(vi)) / bc2Sqrt) + eps;
    p[i] = f(pi - f(stepSize * f(mi / f(denom))));
  }
}

/**
 * One `torch.optim.SGD` step with momentum, Nesterov and coupled weight decay:
 *   d ← g + wd·p;  b ← μb + d (b ← d at the first step);  p ← p − lr·(d + μb)
 */
function sgd(p: Float32Array, g: Float32Array, s: ParamState, lr: number, wd: number, o: OptimizerSettings): void {
  s.step += 1;
  const mu = f(o.momentum);
  const first = !s.momentumBuffer;
  const b = (s.momentumBuffer ??= new Float32Array(p.length));
  const fwd = f(wd);
  const flr = f(lr);
  for (let i = 0; i < p.length; i++) {
    const d = wd !== 0 ? f(g[i] + f(fwd * p[i])) : g[i];
    const bi = first ? d : f(f(b[i] * mu) + d);
    b[i] = bi;
    p[i] = f(p[i] - f(flr * f(d + f(mu * bi))));
  }
}

/** AdamW or SGD over the official parameter groups, with PyTorch's state. */
export class Optimizer {
  readonly state = new Map<string, ParamState>();

  constructor(
    readonly settings: OptimizerSettings,
    readonly groups: ParamGroup[],
  ) {}

  /** Updates `params` in place from `grads`; parameters without a gradient are skipped. */
  step(params: ReadonlyMap<string, Float32Array>, grads: ReadonlyMap<string, Float32Array>): void {
    const update = this.settings.name === 'adamw' ? adamw : sgd;
    for (const group of this.groups)
      for (const name of group.params) {
        const g = grads.get(name);
        if (!g) continue;
        let s = this.state.get(name);
        if (!s) this.state.set(name, (s = { step: 0 }));
        update(params.get(name)!, g, s, group.lr, group.weightDecay, this.settings);
      }
  }
}
