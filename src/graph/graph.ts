/**
 * The graph under construction: nodes, initializers, inputs and outputs, plus the model's parameter
 * table. Names come from nested scopes so that they read like the model (`stage1.block0.attn.q`), and
 * every value's shape is tracked for one image (batch 1) so that builders can check their work and
 * `info` can count multiply-accumulates. The batch dimension itself stays dynamic in the ONNX graph.
 */

import { FlattenError } from '../util/errors.js';

/** A value flowing through the graph, by name. */
export type Value = string;

/** A float attribute (plain numbers are integer attributes). */
export class FloatAttr {
  constructor(readonly value: number) {}
}

/** A list-of-floats attribute. */
export class FloatsAttr {
  constructor(readonly values: readonly number[]) {}
}

/** Marks a number as an ONNX float attribute. */
export const float = (v: number): FloatAttr => new FloatAttr(v);

/** Attribute values: integers, integer lists, strings and {@link FloatAttr} / {@link FloatsAttr}. */
export type AttrValue = number | readonly number[] | string | FloatAttr | FloatsAttr;

/** One operator application. */
export interface GraphNode {
  readonly op: string;
  readonly name: string;
  readonly inputs: readonly Value[];
  readonly outputs: readonly Value[];
  readonly attrs: Readonly<Record<string, AttrValue>>;
  readonly domain: string;
}

/** Looks up a model parameter's float32 data by our name. */
export type WeightLookup = (name: string) => Float32Array;

/** A constant tensor of the graph; its data is produced only when the model is serialized. */
export interface Initializer {
  readonly name: Value;
  readonly dtype: 'float32' | 'int64' | 'int8';
  readonly dims: readonly number[];
  /** Produces the tensor's values from the model's weights. */
  readonly data: (weights: WeightLookup) => Float32Array | BigInt64Array | Int8Array;
}

/** Arithmetic of the linear layers: float32, or int8 weights with dynamically quantized inputs. */
export type Precision = 'fp32' | 'int8';

/** One learnable tensor of the model: our name, the official state-dict key, and its shape. */
export interface ParamSpec {
  readonly name: string;
  readonly official: string;
  readonly shape: readonly number[];
}

/**
 * A buffer of the official module that is part of its state dict but not learnable (Swin's
 * `relative_position_index` and `attn_mask`): written into checkpoints so that PyTorch's strict
 * `load_state_dict` (the EMA's) finds every key.
 */
export interface BufferSpec {
  readonly name: string;
  readonly official: string;
  readonly dtype: 'float32' | 'int64';
  readonly shape: readonly number[];
  /** Produces the buffer's initial values. */
  readonly data: () => Float32Array | BigInt64Array;
}

/** One slice of a linear layer: output features [from, from + dim) of `weight` (out, in), plus bias. */
export interface ProbeProjection {
  readonly weight: string;
  readonly bias: string | null;
  readonly from: number;
  readonly inF: number;
}

/**
 * An attention layer as the analyses see it: the values its queries and keys are computed from, the
 * projections, and the parameters of the kernel function. Recorded while the graph is built.
 */
export interface AttentionProbe {
  /** Our scope of the attention module, e.g. `stage1.block0.attn`. */
  readonly scope: string;
  readonly kind: 'focused' | 'softmax';
  /** (B', N, Cin) and (B', n, Cin): what q and k/v are projected from. */
  readonly qInput: Value;
  readonly kvInput: Value;
  readonly q: ProbeProjection;
  readonly k: ProbeProjection;
  readonly heads: number;
  readonly dim: number;
  /** The grid of the query tokens after `prefix` leading tokens (a class token). */
  readonly grid: readonly [number, number];
  readonly prefix: number;
  readonly keyTokens: number;
  /** Softmax attention's query scale. */
  readonly qkScale?: number;
  /** Focused linear attention's focusing factor and parameters. */
  readonly focusingFactor?: number;
  readonly scale?: string;
  readonly positionalEncoding?: string;
  readonly dwcWeight?: string | null;
  /**
   * Where the attention's tokens sit in the stage (Swin windows): the stage grid, and for each window
   * token in window-major order the stage token it comes from. Absent when the attention is global.
   */
  readonly layout?: { readonly stageGrid: readonly [number, number]; readonly order: readonly number[] };
}

/**
 * How a training graph differs from an inference one: the batch is fixed (so every traced shape is
 * the real one and broadcasts over the batch can be summed in the backward pass), parameters are graph
 * inputs rather than constants (one graph serves every step), and nothing is folded into them.
 */
export interface TrainingTrace {
  /** The fixed batch size. */
  readonly batch: number;
  /**
   * The graph is for onnxruntime's CPU provider, whose blocked-layout kernels (nchwc.ts) take its
   * depthwise convolutions: gradient rules may then pick the forms that provider runs fastest (a
   * depthwise weight gradient as one conv, SpaceToDepth, which WebGPU lacks).
   */
  readonly nchwc?: boolean;
}

/** A graph input or output. `-1` marks the dynamic batch dimension. */
export interface GraphIO {
  readonly name: Value;
  readonly shape: readonly number[];
  /** Element type; float32 unless given. */
  readonly dtype?: 'float32' | 'float64';
  /** The name of the dynamic dimension 0 in the ONNX graph; `batch` unless given. */
  readonly dimName?: string;
}

interface Scope {
  readonly ours: string;
  readonly official: string;
}

const join = (a: string, b: string) => (a === '' ? b : b === '' ? a : `${a}.${b}`);

/**
 * The most nodes a graph may have: the largest released model's inference graph has 3,047
 * (flatten_pvt_v2_b5), so a configuration past this is a mistake or hostile, and building it would
 * take minutes and gigabytes.
 */
export const MAX_GRAPH_NODES = 200_000;

/** The most parameter elements a model may declare: 2^30, 4 GiB of float32 (Swin-B-384 has 91M). */
export const MAX_PARAM_ELEMENTS = 2 ** 30;

/** A graph past {@link MAX_GRAPH_NODES} or {@link MAX_PARAM_ELEMENTS}; `defineModel` names the configuration. */
export class GraphTooLarge extends FlattenError {
  constructor(message: string) {
    super('config', message);
  }
}

/** A graph being built. */
export class Graph {
  private paramElements = 0;

  readonly nodes: GraphNode[] = [];
  readonly initializers = new Map<Value, Initializer>();
  readonly inputs: GraphIO[] = [];
  readonly outputs: GraphIO[] = [];
  readonly params = new Map<string, ParamSpec>();
  readonly buffers = new Map<string, BufferSpec>();
  /** Official names of parameters and buffers in the order they were declared. */
  readonly declared: string[] = [];
  /** Stochastic depth in a training graph: one input per residual branch, fed per-sample keep scales. */
  readonly dropPaths: { readonly name: Value; readonly rate: number; readonly shape: readonly number[] }[] = [];
  private dropRate = 0;
  /** Every attention layer, in build order. */
  readonly probes: AttentionProbe[] = [];
  /** Shape of every value for a batch of one image. */
  readonly shapes = new Map<Value, number[]>();
  private readonly scopes: Scope[] = [{ ours: '', official: '' }];
  private readonly counters = new Map<string, number>();
  private readonly usedNames = new Set<string>();

  constructor(
    /** How linear layers are computed (see `project` in layers.ts). */
    readonly precision: Precision = 'fp32',
    /** Set for a training graph: parameters become inputs and the batch is fixed. */
    readonly training: TrainingTrace | null = null,
  ) {
    if (training && precision !== 'fp32') throw new Error('internal: training graphs are float32');
  }

  private get scope(): Scope {
    return this.scopes[this.scopes.length - 1];
  }

  /** Runs `fn` with names nested under `ours` (and official keys under `official`). */
  within<T>(ours: string, official: string, fn: () => T): T {
    const s = this.scope;
    this.scopes.push({ ours: join(s.ours, ours), official: join(s.official, official) });
    try {
      return fn();
    } finally {
      this.scopes.pop();
    }
  }

  /** Runs `fn` (one block) with the stochastic-depth rate `rate` for its residual branches. */
  withDropPath<T>(rate: number, fn: () => T): T {
    const outer = this.dropRate;
    this.dropRate = rate;
    try {
      return fn();
    } finally {
      this.dropRate = outer;
    }
  }

  /**
   * The keep-scale input for one residual branch shaped like `like` (B, 1, …), or null where the
   * branch is never dropped (inference graphs, rate 0).
   */
  dropPathMask(like: Value): Value | null {
    if (!this.training || this.dropRate <= 0) return null;
    const shape = this.shape(like).map((d, i) => (i === 0 ? d : 1));
    const name = this.fixedInput(`drop_path.${this.dropPaths.length}.${this.scope.ours}`, shape);
    this.dropPaths.push({ name, rate: this.dropRate, shape });
    return name;
  }

  /** Our full name for a local name in the current scope. */
  name(local: string): string {
    return join(this.scope.ours, local);
  }

  /** A fresh value name in the current scope, e.g. `stage1.block0.attn/MatMul_2`. */
  fresh(op: string): Value {
    const base = `${this.scope.ours || 'model'}/${op}`;
    const n = this.counters.get(base) ?? 0;
    this.counters.set(base, n + 1);
    return `${base}_${n}`;
  }

  /** Shape of a value (batch of one). */
  shape(v: Value): number[] {
    const s = this.shapes.get(v);
    if (!s) throw new Error(`internal: no shape for ${v}`);
    return s;
  }

  /**
   * Declares a model input; `shape[0]` is the batch: dynamic and traced as 1, or the training
   * graph's fixed batch. Inputs whose dimension 0 can differ need different `dimName`s.
   */
  input(name: string, shape: readonly number[], dtype: 'float32' | 'float64' = 'float32', dimName?: string): Value {
    const batch = this.training?.batch ?? 1;
    this.inputs.push({ name, shape: [this.training ? batch : -1, ...shape.slice(1)], dtype, ...(dimName ? { dimName } : {}) });
    this.shapes.set(name, [batch, ...shape.slice(1)]);
    this.usedNames.add(name);
    return name;
  }

  /** Declares an input whose every dimension is fixed (a parameter, a target). */
  fixedInput(name: string, shape: readonly number[]): Value {
    if (this.usedNames.has(name)) throw new Error(`internal: input ${name} clashes with a value`);
    this.usedNames.add(name);
    this.inputs.push({ name, shape: [...shape] });
    this.shapes.set(name, [...shape]);
    return name;
  }

  /**
   * Turns fixed inputs into values that `define` computes (a training graph's parameters sliced out of
   * one flat buffer): they stop being graph inputs, `define` must produce each of them under its name
   * (`node`'s `outName`), and the nodes it adds are moved to the front so the graph stays in
   * topological order.
   */
  rebind(names: readonly Value[], define: () => void): void {
    const gone = new Set(names);
    for (const n of names) {
      if (!this.inputs.some((i) => i.name === n)) throw new Error(`internal: ${n} is not an input`);
      this.usedNames.delete(n);
    }
    this.inputs.splice(0, this.inputs.length, ...this.inputs.filter((i) => !gone.has(i.name)));
    const start = this.nodes.length;
    define();
    for (const n of names) if (!this.usedNames.has(n)) throw new Error(`internal: ${n} was not defined again`);
    this.nodes.unshift(...this.nodes.splice(start));
  }

  /**
   * Feeds `v` as a new input `name` instead of computing it (a head trained on cached features: `v` is
   * the features), and drops every node and input that no output needs any more. Call it before the
   * outputs that should survive are declared, and before differentiating.
   */
  feedInstead(v: Value, name: string, keep: readonly Value[]): void {
    const at = this.nodes.findIndex((n) => n.outputs.includes(v));
    if (at < 0) throw new Error(`internal: ${v} is not computed by a node`);
    this.fixedInput(name, this.shape(v));
    this.nodes[at] = { op: 'Identity', name: `${v}/fed`, inputs: [name], outputs: [v], attrs: {}, domain: '' };
    const needed = new Set<Value>(keep);
    const kept: GraphNode[] = [];
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const n = this.nodes[i];
      if (!n.outputs.some((o) => needed.has(o))) {
        for (const o of n.outputs) this.usedNames.delete(o);
        continue;
      }
      kept.push(n);
      for (const x of n.inputs) needed.add(x);
    }
    this.nodes.splice(0, this.nodes.length, ...kept.reverse());
    const unused = this.inputs.filter((i) => !needed.has(i.name));
    for (const i of unused) this.usedNames.delete(i.name);
    this.inputs.splice(0, this.inputs.length, ...this.inputs.filter((i) => needed.has(i.name)));
  }

  /**
   * Replaces node `n` by the nodes `define` adds, in its place (a lowering to other kernels): the value
   * `define` returns takes the name of n's single output, so that every node reading it is unchanged.
   * Returns the nodes added.
   */
  replaceNode(n: GraphNode, define: () => Value): GraphNode[] {
    const at = this.nodes.indexOf(n);
    if (at < 0 || n.outputs.length !== 1) throw new Error(`internal: ${n.name} cannot be replaced`);
    const start = this.nodes.length;
    const v = define();
    const added = this.nodes.splice(start);
    const k = added.findIndex((m) => m.outputs.length === 1 && m.outputs[0] === v);
    if (k < 0 || this.nodes.some((m) => m.inputs.includes(v)) || added.some((m) => m.inputs.includes(v))) {
      throw new Error(`internal: the replacement of ${n.name} must end in a new node read by no other`);
    }
    if (this.shape(v).join() !== this.shape(n.outputs[0]).join())
      throw new Error(`internal: the replacement of ${n.name} changes its shape`);
    added[k] = { ...added[k], outputs: [n.outputs[0]] };
    this.usedNames.delete(v);
    this.shapes.delete(v);
    this.nodes.splice(at, 1, ...added);
    return added;
  }

  /** Declares `v` as a model output called `name`. */
  output(v: Value, name: string, dtype: 'float32' | 'float64' = 'float32'): void {
    const out = this.node('Identity', [v], {}, [this.shape(v)], name)[0];
    this.outputs.push({ name: out, shape: this.training ? this.shape(v) : [-1, ...this.shape(v).slice(1)], dtype });
  }

  /** Adds a node; `shapes` are its outputs' shapes. Returns the output values. */
  node(op: string, inputs: readonly Value[], attrs: Record<string, AttrValue>, shapes: number[][], outName?: string, domain = ''): Value[] {
    if (this.nodes.length >= MAX_GRAPH_NODES) {
      throw new GraphTooLarge(
        `the architecture needs more than ${MAX_GRAPH_NODES} graph nodes (the largest released model has 3,047); check its depths and sizes`,
      );
    }
    const first = outName ?? this.fresh(op);
    const outputs = shapes.map((_, i) => (i === 0 ? first : `${first}:${i}`));
    outputs.forEach((o, i) => {
      if (this.usedNames.has(o)) throw new Error(`internal: value ${o} defined twice`);
      this.usedNames.add(o);
      this.shapes.set(o, shapes[i]);
    });
    this.nodes.push({ op, name: first, inputs, outputs, attrs, domain });
    return outputs;
  }

  /** Registers a learnable parameter and returns it as an initializer value with the same name. */
  param(local: string, shape: readonly number[], officialLocal = local): Value {
    return this.paramValue(this.declareParam(local, shape, officialLocal));
  }

  /**
   * A declared parameter as a graph value: a constant holding its weights for inference, a graph
   * input of the same name for training.
   */
  paramValue(spec: ParamSpec): Value {
    if (this.training) return this.usedNames.has(spec.name) ? spec.name : this.fixedInput(spec.name, spec.shape);
    return this.initializer(spec.name, 'float32', spec.shape, (w) => w(spec.name));
  }

  /** Parameters used by the graph (in a training graph, those fed as inputs), in declaration order. */
  usedParams(): ParamSpec[] {
    return [...this.params.values()].filter((p) => this.usedNames.has(p.name));
  }

  /** Registers a parameter without using it in the graph (e.g. PVT's unused final norm). */
  declareParam(local: string, shape: readonly number[], officialLocal = local): ParamSpec {
    this.paramElements += shape.reduce((a, d) => a * d, 1);
    if (this.paramElements > MAX_PARAM_ELEMENTS) {
      throw new GraphTooLarge(
        `the architecture declares more than ${MAX_PARAM_ELEMENTS} parameters (flatten_swin_b_384 has 91,433,928); check its dimensions`,
      );
    }
    const spec: ParamSpec = { name: this.name(local), official: join(this.scope.official, officialLocal), shape: [...shape] };
    if (this.params.has(spec.name)) throw new Error(`internal: parameter ${spec.name} declared twice`);
    this.params.set(spec.name, spec);
    this.declared.push(spec.official);
    return spec;
  }

  /** Registers a state-dict buffer of the official module in the current scope. */
  declareBuffer(local: string, dtype: BufferSpec['dtype'], shape: readonly number[], data: BufferSpec['data']): BufferSpec {
    const spec: BufferSpec = { name: this.name(local), official: join(this.scope.official, local), dtype, shape: [...shape], data };
    this.buffers.set(spec.name, spec);
    this.declared.push(spec.official);
    return spec;
  }

  /**
   * An initializer derived from parameters (a transposed weight, a folded constant). `data` receives
   * the weight lookup when the model is serialized.
   */
  initializer(name: string, dtype: Initializer['dtype'], dims: readonly number[], data: Initializer['data']): Value {
    if (this.initializers.has(name)) return name;
    if (this.usedNames.has(name)) throw new Error(`internal: initializer ${name} clashes with a value`);
    this.usedNames.add(name);
    this.initializers.set(name, { name, dtype, dims: [...dims], data });
    this.shapes.set(name, [...dims]);
    return name;
  }

  /** A float constant that does not depend on the weights. */
  constant(local: string, dims: readonly number[], values: Float32Array | readonly number[]): Value {
    const data = values instanceof Float32Array ? values : Float32Array.from(values);
    return this.initializer(this.fresh(local), 'float32', dims, () => data);
  }

  /** An int64 constant (shapes, indices, axes), shared by value across the graph. */
  ints(values: readonly number[], dims: readonly number[] = [values.length]): Value {
    const name = `const.i64.${dims.join('x')}.${values.join('_')}`.slice(0, 200);
    const full = name.length >= 200 ? this.fresh('indices') : name;
    return this.initializer(full, 'int64', dims, () => BigInt64Array.from(values.map((v) => BigInt(v))));
  }
}
