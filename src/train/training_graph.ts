/**
 * The training graph: the model's forward pass on the official parameters (nothing folded), the
 * criterion on soft targets, and the gradient of the loss with respect to every parameter the
 * forward pass uses, all in one ONNX graph that onnxruntime runs once per step.
 *
 * Inputs: `pixel_values` (B, 3, H, W), `targets` (B, K) soft targets (one-hot, smoothed or mixed, see
 * criterion.ts), `drop_path.<block>` (B, 1, 1) per-sample keep scales where stochastic depth is on,
 * and the parameters: each under our name, or, with a {@link ParamLayout}, the flat buffers
 * `params.<group>` and `frozen` (layout.ts). Outputs: `loss` (), `logits` (B, K), and the gradients:
 * `grad.<name>` each, or with a layout `grads.<group>`, flat like `params.<group>`.
 *
 * Dimension legend: B batch (fixed), K classes, P a flat buffer's length.
 */
import { differentiate } from '../graph/autodiff.js';
import { Graph, type GraphNode, type ParamSpec, type Value } from '../graph/graph.js';
import { lowerDepthwiseConvs } from '../graph/nchwc.js';
import * as op from '../graph/ops.js';
import { computeMasksInForward, pinParameterGradients, recomputeGeluOutputs } from '../graph/schedule.js';
import { INPUT_NAME } from '../models/define.js';
import { type Architecture, withArgs } from '../models/registry.js';
import { FlattenError } from '../util/errors.js';
import { allBuffers, type ParamLayout } from './layout.js';
import { addUpdate, nonEmptyGroups, type UpdateOptions } from './update_graph.js';

/** Name of the soft-target input. */
export const TARGETS_NAME = 'targets';

/** Options of {@link defineTrainingGraph}. */
export interface TrainingGraphOptions {
  /** The fixed batch size. */
  batch: number;
  /** Parameters kept fixed (`--freeze`): fed to the graph, never differentiated. */
  frozen?: (p: ParamSpec) => boolean;
  /**
   * Feed the parameters as flat buffers and return the gradients likewise (see layout.ts): the layout
   * of the trained parameters and of the others (frozen, or never read), in declaration order.
   */
  layout?: (g: Graph, trained: readonly ParamSpec[], fixed: readonly ParamSpec[]) => ParamLayout;
  /**
   * Train the head alone on the pooled features it reads (input `features` (B, C) instead of images):
   * a linear probe of a frozen backbone whose features were computed once. Needs `frozen` to keep
   * every parameter before the head.
   */
  fromFeatures?: boolean;
  /**
   * Add the update (update_graph.ts) at the end, needs `layout`: the graph then takes the optimizer
   * state and EMA too and outputs their next values and `grad_norm`, besides the gradients.
   */
  update?: UpdateOptions;
  /**
   * The batch the loss averages over, when it is larger than the graph's (gradient accumulation: each
   * part then contributes its share, and the parts' gradients and losses add up to the whole batch's).
   */
  lossBatch?: number;
  /**
   * The graph is for onnxruntime's CPU provider (see `nchwcKernels` in runtime/nchwc.ts): its
   * depthwise convolutions, and the gradient rules' forms of them, run on the provider's blocked-layout
   * kernels (graph/nchwc.ts). No other runtime has those kernels.
   */
  nchwc?: boolean;
}

/** A built training graph and what it consumes and produces. */
export interface TrainingGraph {
  readonly arch: Architecture;
  readonly graph: Graph;
  readonly batch: number;
  /** The input the batches are fed to: `pixel_values`, or `features` for a head trained on features. */
  readonly inputName: string;
  /** (C, H, W) of one image, or (C) of one image's features. */
  readonly inputShape: readonly number[];
  readonly numClasses: number;
  /** Every parameter of the model, in declaration order. */
  readonly params: readonly ParamSpec[];
  /** The parameters the forward pass reads, all fed as inputs. */
  readonly fed: readonly ParamSpec[];
  /** Those of them that are trained, each with a `grad.` output. */
  readonly trained: readonly ParamSpec[];
  /** Parameters the forward pass never reads (PVT's final norm): no gradient, AdamW skips them. */
  readonly unused: readonly ParamSpec[];
  /** The flat buffers, when the graph was built with a layout. */
  readonly layout: ParamLayout | null;
  /** The state inputs the update reads (each with a `next.` output), when the graph updates. */
  readonly updateState: readonly string[] | null;
  /** For each backward node, the forward node it belongs to (see `differentiate`). */
  readonly origins: ReadonlyMap<GraphNode, GraphNode>;
  /** Whether the graph is for onnxruntime's blocked-layout CPU kernels (the `nchwc` option). */
  readonly nchwc: boolean;
}

/** Name of the input of a graph that starts from the pooled features (`fromFeatures`). */
export const FEATURES_NAME = 'features';

/** The graph output holding a parameter's gradient. */
export const gradName = (param: string): string => `grad.${param}`;

/** The graph output holding the gradients of a flat buffer (`params.0` → `grads.0`). */
export const flatGradName = (buffer: string): string => buffer.replace(/^params\./, 'grads.');

/**
 * Mean over `lossBatch` images of Σ_k −t·log softmax(logits): timm's SoftTargetCrossEntropy, which
 * equals LabelSmoothingCrossEntropy and plain cross-entropy when the targets are smoothed or one-hot.
 * The log-softmax is written out (x − max − log Σ exp(x − max)) because onnxruntime's WebGPU provider
 * has no LogSoftmax kernel: this way no node of the step leaves the GPU.
 */
function softTargetCrossEntropy(g: Graph, logits: Value, targets: Value, lossBatch: number): Value {
  const shifted = op.sub(g, logits, op.reduceMax(g, logits, [1])); // (B, K)
  const logp = op.sub(g, shifted, op.log(g, op.reduceSum(g, op.exp(g, shifted), [1]))); // (B, K)
  const total = op.reduceSum(g, op.mul(g, targets, logp), [0, 1], false); // ()
  return op.mul(g, total, g.constant('neg_inv_batch', [], [-1 / lossBatch]));
}

/**
 * Feeds the parameters from flat buffers: each buffer the forward pass reads from is one input (P),
 * sliced into its parameters' pieces and reshaped, in nodes that run before the forward pass (a Slice
 * each, since a Split into more than a few outputs does not run on WebGPU: see `MAX_NODE_BUFFERS`).
 */
function feedFromBuffers(g: Graph, layout: ParamLayout): void {
  const fed = new Set(g.usedParams().map((p) => p.name));
  const buffers = allBuffers(layout).filter((b) => b.slots.some((s) => fed.has(s.param.name)));
  g.rebind(
    buffers.flatMap((b) => b.slots.filter((s) => fed.has(s.param.name)).map((s) => s.param.name)),
    () => {
      for (const b of buffers) {
        const flat = g.fixedInput(b.name, [b.size]); // (P)
        for (const s of b.slots) {
          if (!fed.has(s.param.name)) continue;
          // a copy even of a whole buffer: an update written over the buffer in place must not change it
          const piece = op.slice(g, flat, 0, s.offset, s.offset + s.size); // (size)
          g.node('Reshape', [piece, g.ints(s.param.shape)], {}, [[...s.param.shape]], s.param.name);
        }
      }
    },
  );
}

/** The gradients of a group's parameters, flattened and concatenated in the buffer's order: (P). */
function flatGradients(g: Graph, slots: ParamLayout['groups'][number]['slots'], grads: ReadonlyMap<string, Value | null>): Value {
  return op.concatMany(
    g,
    slots.map((s) => op.reshape(g, grads.get(s.param.name)!, [s.size])), // (size) each
    0,
  );
}

/**
 * The forward pass of a graph whose parameters are inputs and whose batch is fixed: from the images,
 * or with `fromFeatures` only the head, from the features.
 */
function forward(arch: Architecture, batch: number, where: string, fromFeatures: boolean, nchwc: boolean) {
  const g = new Graph('fp32', { batch, nchwc });
  const [h, w] = arch.family.inputSize(arch.args);
  const c = arch.args.in_chans as number;
  const input = g.input(INPUT_NAME, [batch, c, h, w]);
  const built = arch.family.build(g, input, arch.args, where);
  if (!fromFeatures) return { g, built, input: INPUT_NAME, inputShape: [c, h, w] };
  const features = g.shape(built.features).slice(1); // (C)
  g.feedInstead(built.features, FEATURES_NAME, [built.logits]);
  return { g, built, input: FEATURES_NAME, inputShape: features };
}

/**
 * The forward pass alone on the parameters of a layout (the training graph's flat buffers), without
 * stochastic depth: what a run validates with, fed the weights it holds (or their EMA) where they
 * are. Output `logits` (B, K).
 *
 * @example
 * ```ts
 * const g = defineEvalGraph(arch, 32, trainingGraph.layout!);
 * ```
 */
export function defineEvalGraph(arch: Architecture, batch: number, layout: ParamLayout, fromFeatures = false, nchwc = false): Graph {
  const { g, built } = forward(withArgs(arch, { drop_path_rate: 0 }), batch, arch.name, fromFeatures, nchwc);
  g.output(built.logits, 'logits');
  feedFromBuffers(g, layout);
  if (nchwc) lowerDepthwiseConvs(g);
  return g;
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
  const { g, built, input, inputShape } = forward(arch, opts.batch, where, opts.fromFeatures ?? false, opts.nchwc ?? false);
  const K = arch.args.num_classes as number;
  if (!(K > 0)) throw new FlattenError('config', `${where} has no classification head (num_classes ${K}); training needs one`);
  const targets = g.fixedInput(TARGETS_NAME, [opts.batch, K]);
  const loss = softTargetCrossEntropy(g, built.logits, targets, opts.lossBatch ?? opts.batch);
  const fed = g.usedParams();
  const trained = fed.filter((p) => !opts.frozen?.(p));
  if (trained.length === 0) throw new FlattenError('config', `${where}: --freeze leaves no parameter to train`);
  const origins = new Map<GraphNode, GraphNode>();
  const grads = differentiate(
    g,
    loss,
    trained.map((p) => p.name),
    origins,
  );
  for (const p of trained) {
    if (!grads.get(p.name)) throw new Error(`internal: ${p.name} is an input of the graph but the loss does not depend on it`);
  }
  // a pass's replacements take over the forward node the replaced one belonged to
  const relink = (replaced: Map<GraphNode, GraphNode[]>) => {
    for (const [old, added] of replaced) {
      const origin = origins.get(old);
      origins.delete(old);
      if (origin) for (const n of added) origins.set(n, origin);
    }
  };
  const trainedNames = new Set(trained.map((p) => p.name));
  // what the backward pass keeps, and when a runtime computes the gradients (schedule.ts)
  relink(recomputeGeluOutputs(g, new Set(origins.keys())));
  // (the CPU provider only: WebGPU has no kernels that slice or transpose the boolean mask)
  if (opts.nchwc) relink(computeMasksInForward(g, new Set(origins.keys()), trainedNames));
  relink(pinParameterGradients(g, grads, trainedNames, new Set(origins.keys())));
  g.output(loss, 'loss');
  g.output(built.logits, 'logits');
  const layout = opts.layout?.(
    g,
    trained,
    [...g.params.values()].filter((p) => !trainedNames.has(p.name)),
  );
  let updateState: string[] | null = null;
  if (layout) {
    feedFromBuffers(g, layout);
    const flat = nonEmptyGroups(layout).map((b) => flatGradients(g, b.slots, grads));
    nonEmptyGroups(layout).forEach((b, k) => g.output(flat[k], flatGradName(b.name)));
    if (opts.update) updateState = addUpdate(g, layout, opts.update, flat, grads as ReadonlyMap<string, Value>);
  } else for (const p of trained) g.output(grads.get(p.name)!, gradName(p.name));
  if (opts.nchwc) relink(lowerDepthwiseConvs(g));
  const params = [...g.params.values()];
  const fedNames = new Set(fed.map((p) => p.name));
  return {
    arch,
    graph: g,
    batch: opts.batch,
    fed,
    inputName: input,
    inputShape,
    numClasses: K,
    params,
    trained,
    unused: params.filter((p) => !fedNames.has(p.name)),
    layout: layout ?? null,
    updateState,
    origins,
    nchwc: opts.nchwc ?? false,
  };
}
