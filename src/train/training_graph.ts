/**
 * The training graph: the model's forward pass on the official parameters (nothing folded), the
 * criterion on soft targets, and the gradient of the loss with respect to every parameter the
 * forward pass uses, all in one ONNX graph that onnxruntime runs once per step.
 *
 * Inputs: `pixel_values` (B, 3, H, W), `targets` (B, K) soft targets (one-hot, smoothed or mixed, see
 * criterion.ts), `drop_path.<block>` (B, 1, 1) per-sample keep scales where stochastic depth is on,
 * and every used parameter under our name. Outputs: `loss` (), `logits` (B, K), `grad.<name>`.
 *
 * Dimension legend: B batch (fixed), K classes.
 */
import { differentiate } from '../graph/autodiff.js';
import { Graph, type ParamSpec, type Value } from '../graph/graph.js';
import * as op from '../graph/ops.js';
import { INPUT_NAME } from '../models/define.js';
import type { Architecture } from '../models/registry.js';
import { FlattenError } from '../util/errors.js';

/** Name of the soft-target input. */
export const TARGETS_NAME = 'targets';

/** Options of {@link defineTrainingGraph}. */
export interface TrainingGraphOptions {
  /** The fixed batch size. */
  batch: number;
  /** Parameters kept fixed (`--freeze`): fed to the graph, never differentiated. */
  frozen?: (p: ParamSpec) => boolean;
}

/** A built training graph and what it consumes and produces. */
export interface TrainingGraph {
  readonly arch: Architecture;
  readonly graph: Graph;
  readonly batch: number;
  /** (C, H, W) of one image. */
  readonly inputShape: readonly [number, number, number];
  readonly numClasses: number;
  /** Every parameter of the model, in declaration order. */
  readonly params: readonly ParamSpec[];
  /** The parameters the forward pass reads, all fed as inputs. */
  readonly fed: readonly ParamSpec[];
  /** Those of them that are trained, each with a `grad.` output. */
  readonly trained: readonly ParamSpec[];
  /** Parameters the forward pass never reads (PVT's final norm): no gradient, AdamW skips them. */
  readonly unused: readonly ParamSpec[];
}

/** The graph output holding a parameter's gradient. */
export const gradName = (param: string): string => `grad.${param}`;

/**
 * Mean over the batch of Σ_k −t·log softmax(logits): timm's SoftTargetCrossEntropy, which equals
 * LabelSmoothingCrossEntropy and plain cross-entropy when the targets are smoothed or one-hot.
 */
function softTargetCrossEntropy(g: Graph, logits: Value, targets: Value): Value {
  const B = g.shape(logits)[0];
  const logp = g.node('LogSoftmax', [logits], { axis: 1 }, [g.shape(logits)])[0]; // (B, K)
  const total = op.reduceSum(g, op.mul(g, targets, logp), [0, 1], false); // ()
  return op.mul(g, total, g.constant('neg_inv_batch', [], [-1 / B]));
}

/**
 * Builds the training graph of an architecture.
 *
 * @example
 * ```ts
 * const tg = defineTrainingGraph(resolveArchitecture('flatten_pvt_v2_b0'), { batch: 32 });
 * const bytes = serializeModel(tg.graph, () => new Float32Array());
 * ```
 */
export function defineTrainingGraph(arch: Architecture, opts: TrainingGraphOptions): TrainingGraph {
  const where = arch.name === 'custom' ? `${arch.family.name} config` : arch.name;
  for (const k of ['drop_rate', 'attn_drop_rate']) {
    const v = arch.args[k];
    if (typeof v === 'number' && v > 0) {
      throw new FlattenError(
        'config',
        `${where}: ${k} ${v} (dropout) is not supported in training; the official configs keep it at 0 (MODEL.DROP_RATE)`,
      );
    }
  }
  const g = new Graph('fp32', { batch: opts.batch });
  const [h, w] = arch.family.inputSize(arch.args);
  const c = arch.args.in_chans as number;
  const input = g.input(INPUT_NAME, [opts.batch, c, h, w]);
  const built = arch.family.build(g, input, arch.args, where);
  const K = arch.args.num_classes as number;
  if (!(K > 0)) throw new FlattenError('config', `${where} has no classification head (num_classes ${K}); training needs one`);
  const targets = g.fixedInput(TARGETS_NAME, [opts.batch, K]);
  const loss = softTargetCrossEntropy(g, built.logits, targets);
  const fed = g.usedParams();
  const trained = fed.filter((p) => !opts.frozen?.(p));
  if (trained.length === 0) throw new FlattenError('config', `${where}: --freeze leaves no parameter to train`);
  const grads = differentiate(
    g,
    loss,
    trained.map((p) => p.name),
  );
  g.output(loss, 'loss');
  g.output(built.logits, 'logits');
  for (const p of trained) {
    const d = grads.get(p.name);
    if (!d) throw new Error(`internal: ${p.name} is an input of the graph but the loss does not depend on it`);
    g.output(d, gradName(p.name));
  }
  const params = [...g.params.values()];
  const fedNames = new Set(fed.map((p) => p.name));
  return {
    arch,
    graph: g,
    batch: opts.batch,
    fed,
    inputShape: [c, h, w],
    numClasses: K,
    params,
    trained,
    unused: params.filter((p) => !fedNames.has(p.name)),
  };
}
