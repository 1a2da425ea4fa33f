/**
 * Turns an architecture into its graph: declares the input, runs the family's builder and names the
 * outputs (`logits`, `features`, and `stage1`… when asked for).
 */
import { type AttentionProbe, Graph, GraphTooLarge, type ParamSpec, type Precision } from '../graph/graph.js';
import { FlattenError } from '../util/errors.js';
import type { Architecture } from './registry.js';

/** What a built model consists of, before any weights are attached. */
export interface ModelDefinition {
  readonly arch: Architecture;
  readonly graph: Graph;
  /** Learnable parameters in declaration order. */
  readonly params: readonly ParamSpec[];
  /** (C, H, W) of one input image. */
  readonly inputShape: readonly [number, number, number];
  /** Names of the graph outputs. */
  readonly outputNames: readonly string[];
  /** Tokens, channels and grid of each stage's output. */
  readonly stages: readonly StageShape[];
  /** The probed attention layer, when `probe` was asked for. */
  readonly probe?: AttentionProbe;
}

/** Geometry of one stage's output (B, N, C). */
export interface StageShape {
  readonly tokens: number;
  readonly channels: number;
  readonly grid: readonly [number, number];
}

/** Options of {@link defineModel}. */
export interface DefineOptions {
  /** Also output every stage's tokens (`stage1` … `stageN`). */
  stages?: boolean;
  /** `int8`: linear layers with int8 weights and dynamically quantized inputs (the fast mode). */
  precision?: Precision;
  /**
   * Expose the attention inputs of one block (`stage1.block0`) as outputs `probe_q` and `probe_kv`,
   * for the analyses; the block's probe is in `ModelDefinition.probe`.
   */
  probe?: string;
}

/** The name of the graph's input. */
export const INPUT_NAME = 'pixel_values';

/**
 * Builds the graph of an architecture.
 *
 * @example
 * ```ts
 * const def = defineModel(resolveArchitecture('flatten_swin_t'));
 * console.log(def.params.reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0)); // 29192384
 * ```
 */
export function defineModel(arch: Architecture, opts: DefineOptions = {}): ModelDefinition {
  const g = new Graph(opts.precision);
  const [h, w] = arch.family.inputSize(arch.args);
  const c = arch.args.in_chans as number;
  const input = g.input(INPUT_NAME, [1, c, h, w]);
  let built: ReturnType<typeof arch.family.build>;
  try {
    built = arch.family.build(g, input, arch.args, arch.source ?? (arch.name === 'custom' ? `${arch.family.name} config` : arch.name));
  } catch (e) {
    if (e instanceof GraphTooLarge) throw new FlattenError('config', `${arch.source ?? arch.name}: ${e.message}`);
    throw e;
  }
  g.output(built.logits, 'logits');
  g.output(built.features, 'features');
  if (opts.stages) built.stages.forEach((s, i) => g.output(s, `stage${i + 1}`));
  let probe: AttentionProbe | undefined;
  if (opts.probe) {
    probe = g.probes.find((p) => p.scope.startsWith(`${opts.probe}.`));
    if (!probe) {
      const blocks = [...new Set(g.probes.map((p) => p.scope.split('.').slice(0, 2).join('.')))];
      throw new FlattenError(
        'usage',
        `${arch.name} has no attention layer in ${opts.probe}; its blocks are ${blocks[0]} … ${blocks[blocks.length - 1]}`,
      );
    }
    g.output(probe.qInput, 'probe_q');
    if (probe.kvInput !== probe.qInput) g.output(probe.kvInput, 'probe_kv');
  }
  return {
    arch,
    graph: g,
    params: [...g.params.values()],
    inputShape: [c, h, w],
    outputNames: g.outputs.map((o) => o.name),
    stages: built.stages.map((v, i) => ({ tokens: g.shape(v)[1], channels: g.shape(v)[2], grid: built.grids[i] })),
    ...(probe ? { probe } : {}),
  };
}

/** Total number of parameters, as PyTorch's `sum(p.numel() for p in model.parameters())`. */
export function countParams(params: readonly ParamSpec[]): number {
  return params.reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
}
