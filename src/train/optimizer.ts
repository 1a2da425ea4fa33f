/**
 * The official optimizers (`optimizer.py`): AdamW or SGD with Nesterov momentum over two parameter
 * groups — weight decay for every parameter except those with one dimension, names ending in
 * `.bias`, the model's `no_weight_decay()` names and names containing a `no_weight_decay_keywords()`
 * keyword, which get none. The updates themselves, `torch.optim.AdamW` and `torch.optim.SGD`
 * (PyTorch 1.13) step for step in float32, are graph work: update_graph.ts.
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
