/**
 * The update after each step as ONNX nodes over the flat buffers of layout.ts, so that the weights,
 * optimizer state and EMA never leave the device the step runs on — at the end of the training graph
 * (one run per step, the update's temporaries taking memory the backward pass has freed), or as a
 * graph of its own after a batch run in parts:
 *
 *   total = ‖(‖g₀‖, ‖g₁‖, …)‖                              (clip_grad_norm_, over every parameter)
 *   g ← g · min(1, max_norm / (total + 1e-6))              (TRAIN.CLIP_GRAD, when set)
 *   AdamW (torch.optim.AdamW, PyTorch 1.13, float32):
 *     p ← p·(1 − lr·wd);  m ← β₁m + (1 − β₁)g;  v ← β₂v + (1 − β₂)g²
 *     p ← p − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
 *   SGD (torch.optim.SGD, Nesterov): d ← g + wd·p;  b ← μ·b + d;  p ← p − lr·(d + μb)
 *   EMA (timm's ModelEma): e ← decay·e + (1 − decay)·p, the fixed parameters' too
 *
 * each node one float32 operation in the order PyTorch computes it. What changes from step to step
 * (the rates, the bias corrections) is fed as scalars, computed by {@link updateScalars}.
 *
 * Inputs: `params.<i>`, `grads.<i>` (P), `exp_avg.<i>` and `exp_avg_sq.<i>` (AdamW) or
 * `momentum.<i>` (SGD), `ema.params.<i>` and, with fixed parameters, `fixed` and `ema.fixed` (F); scalars
 * `decay.<i>`, `step_size.<i>`, `bias_correction2_sqrt` (AdamW) or `lr.<i>`, `momentum_scale` (SGD).
 * Outputs: `next.<state>` for each state input, and `grad_norm` (), the norm before clipping.
 *
 * Dimension legend: P a group buffer's length, F the fixed buffer's.
 */
import { Graph, type Value } from '../graph/graph.js';
import * as op from '../graph/ops.js';
import type { FlatBuffer, ParamLayout } from './layout.js';
import type { OptimizerSettings } from './optimizer.js';

/** What the update does besides the optimizer. */
export interface UpdateOptions {
  readonly optimizer: OptimizerSettings;
  /** Each group's weight decay. */
  readonly weightDecays: readonly number[];
  /** The global gradient norm limit, or null. */
  readonly clipGrad: number | null;
  /** The EMA decay, or null without an EMA. */
  readonly emaDecay: number | null;
}

/** The optimizer state buffers of one group, by kind: AdamW's two moments or SGD's momentum. */
export const stateKinds = (o: OptimizerSettings): readonly string[] => (o.name === 'adamw' ? ['exp_avg', 'exp_avg_sq'] : ['momentum']);

/** The output holding the new value of a state input. */
export const nextName = (input: string): string => `next.${input}`;

/** A built update graph and the names of its state inputs (each with a `next.` output). */
export interface UpdateGraph {
  readonly graph: Graph;
  /** Every state input: params, optimizer state and EMA of each group, the fixed EMA. */
  readonly state: readonly string[];
  /** The group buffers that hold parameters, in the order of the layout (empty groups left out). */
  readonly groups: readonly FlatBuffer[];
}

/** The group buffers that hold parameters. */
export const nonEmptyGroups = (layout: ParamLayout): FlatBuffer[] => layout.groups.filter((b) => b.size > 0);

/**
 * Builds the update graph of a layout on its own: the gradients are inputs `grads.<i>` (what the
 * training graph outputs when a batch runs in parts and the parts' gradients are summed first).
 *
 * @example
 * ```ts
 * const u = defineUpdateGraph(layout, { optimizer, weightDecays: [0.05, 0], clipGrad: 5, emaDecay: null });
 * const bytes = serializeModel(u.graph, () => new Float32Array());
 * ```
 */
export function defineUpdateGraph(layout: ParamLayout, o: UpdateOptions): UpdateGraph {
  const g = new Graph('fp32', { batch: 1 });
  const groups = nonEmptyGroups(layout);
  const grads = groups.map((b) => g.fixedInput(b.name.replace(/^params\./, 'grads.'), [b.size])); // (P) each
  return { graph: g, state: addUpdate(g, layout, o, grads), groups };
}

/**
 * Adds the update to a graph: from each group's flat gradients (P), its `next.` outputs and
 * `grad_norm`; the state inputs are declared unless the graph has them already (a training graph
 * feeds its parameters from the same buffers). `paramGrads`, when the graph has them, gives each
 * parameter's own gradient for the norms, so the flat buffers need no slicing. Returns the names of
 * the state inputs.
 */
export function addUpdate(
  g: Graph,
  layout: ParamLayout,
  o: UpdateOptions,
  grads: readonly Value[],
  paramGrads?: ReadonlyMap<string, Value>,
): string[] {
  const c = (name: string, v: number) => g.constant(name, [], [v]);
  const groups = layout.groups.map((b, i) => ({ b, wd: o.weightDecays[i] })).filter((x) => x.b.size > 0);
  const state: string[] = [];
  const has = (name: string) => g.inputs.some((i) => i.name === name);
  const input = (name: string, size: number) => {
    state.push(name);
    return has(name) ? name : g.fixedInput(name, [size]); // (P)
  };
  // each parameter's norm, then the norm of those, as PyTorch sums them: one float32 sum over a whole
  // buffer of millions strays further from it
  const norms = groups.flatMap(({ b }, k) =>
    b.slots.map((s) => {
      const own = paramGrads?.get(s.param.name);
      if (own) return op.reshape(g, op.reduceL2(g, own, [...s.param.shape.keys()], false), [1]); // (1)
      return op.reduceL2(g, b.slots.length > 1 ? op.slice(g, grads[k], 0, s.offset, s.offset + s.size) : grads[k], [0]); // (1)
    }),
  );
  const total = op.reshape(g, op.reduceL2(g, op.concatMany(g, norms, 0), [0]), []); // ()
  g.output(total, 'grad_norm');
  let coef: Value | null = null;
  if (o.clipGrad !== null) {
    const ratio = op.div(g, c('max_norm', o.clipGrad), op.add(g, total, c('clip_eps', 1e-6)));
    coef = g.node('Min', [ratio, c('one', 1)], {}, [[]])[0]; // ()
  }
  const scalar = (name: string) => g.fixedInput(name, []);
  const bc2Sqrt = o.optimizer.name === 'adamw' ? scalar('bias_correction2_sqrt') : null;
  const momentumScale = o.optimizer.name === 'sgd' ? scalar('momentum_scale') : null;
  const [b1, b2] = o.optimizer.betas;
  groups.forEach(({ b, wd }, k) => {
    const i = b.name.slice('params.'.length);
    const p = input(b.name, b.size);
    const d = coef ? op.mul(g, grads[k], coef) : grads[k];
    let next: Value;
    if (o.optimizer.name === 'adamw') {
      const m = input(`exp_avg.${i}`, b.size);
      const v = input(`exp_avg_sq.${i}`, b.size);
      const decayed = op.mul(g, p, scalar(`decay.${i}`));
      const m1 = op.add(g, op.mul(g, m, c('beta1', b1)), op.mul(g, d, c('one_minus_beta1', 1 - b1)));
      const v1 = op.add(g, op.mul(g, v, c('beta2', b2)), op.mul(g, op.mul(g, d, d), c('one_minus_beta2', 1 - b2)));
      const denom = op.add(g, op.div(g, op.sqrt(g, v1), bc2Sqrt!), c('eps', o.optimizer.eps));
      next = op.sub(g, decayed, op.mul(g, scalar(`step_size.${i}`), op.div(g, m1, denom)));
      g.output(m1, nextName(m));
      g.output(v1, nextName(v));
    } else {
      const buf = input(`momentum.${i}`, b.size);
      const dd = wd !== 0 ? op.add(g, d, op.mul(g, c('weight_decay', wd), p)) : d;
      const buf1 = op.add(g, op.mul(g, buf, momentumScale!), dd);
      const mu = c('momentum', o.optimizer.momentum);
      next = op.sub(g, p, op.mul(g, scalar(`lr.${i}`), op.add(g, dd, op.mul(g, mu, buf1))));
      g.output(buf1, nextName(buf));
    }
    g.output(next, nextName(p));
    if (o.emaDecay !== null) emaUpdate(g, input(`ema.${b.name}`, b.size), next, o.emaDecay);
  });
  if (o.emaDecay !== null && layout.fixed) {
    const fixed = has(layout.fixed.name) ? layout.fixed.name : g.fixedInput(layout.fixed.name, [layout.fixed.size]);
    emaUpdate(g, input(`ema.${layout.fixed.name}`, layout.fixed.size), fixed, o.emaDecay);
  }
  return state;
}

/** e ← decay·e + (1 − decay)·p, as an output `next.<e>`. */
function emaUpdate(g: Graph, e: Value, p: Value, decay: number): void {
  const kept = op.mul(g, e, g.constant('ema_decay', [], [decay]));
  g.output(op.add(g, kept, op.mul(g, g.constant('ema_rest', [], [1 - decay]), p)), nextName(e));
}

const f = Math.fround;

/**
 * The scalars one update is fed: for AdamW each group's decay factor 1 − lr·wd and step size
 * lr / (1 − β₁ᵗ), and √(1 − β₂ᵗ), rounded to float32 as PyTorch's Python floats are when they meet a
 * float32 tensor; for SGD each group's rate and whether the momentum buffer exists yet.
 *
 * @example
 * ```ts
 * updateScalars(settings.optimizer, [{ lr: 1e-3, wd: 0.05 }, { lr: 1e-3, wd: 0 }], 1); // step 1's scalars
 * ```
 */
export function updateScalars(
  o: OptimizerSettings,
  groups: readonly { readonly lr: number; readonly wd: number; readonly index: number }[],
  step: number,
): Record<string, number> {
  const out: Record<string, number> = {};
  if (o.name === 'adamw') {
    const [b1, b2] = o.betas;
    out.bias_correction2_sqrt = f(Math.sqrt(1 - b2 ** step));
    for (const { lr, wd, index } of groups) {
      out[`decay.${index}`] = f(1 - lr * wd);
      out[`step_size.${index}`] = f(lr / (1 - b1 ** step));
    }
  } else {
    out.momentum_scale = step > 1 ? o.momentum : 0;
    for (const { lr, index } of groups) out[`lr.${index}`] = lr;
  }
  return out;
}
