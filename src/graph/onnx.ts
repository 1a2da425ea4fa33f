/**
 * Serializes a {@link Graph} to an ONNX `ModelProto` (IR version 8, opset 17, default domain only),
 * pulling each initializer's data from the weights as it goes.
 */
import type { AttrValue, Graph, GraphIO, GraphNode, Initializer, WeightLookup } from './graph.js';
import { FloatAttr, FloatsAttr } from './graph.js';
import { PbWriter } from './protobuf.js';

/** The ONNX opset the graphs are written for. */
export const OPSET = 17;

/** onnxruntime's contrib operator domain (training graphs use its Gelu). */
export const MS_DOMAIN = 'com.microsoft';
const IR_VERSION = 8;

const DATA_TYPE = { float32: 1, int8: 3, int64: 7, float64: 11 } as const;

const enum AttrType {
  FLOAT = 1,
  INT = 2,
  STRING = 3,
  FLOATS = 6,
  INTS = 7,
}

/** Options for {@link serializeModel}. */
export interface SerializeOptions {
  /** Fixes the batch dimension of inputs and outputs; dynamic (`batch`) when absent. */
  batch?: number;
  /** Key/value pairs stored as model metadata. */
  metadata?: Record<string, string>;
  /** The graph's name. */
  name?: string;
}

function attribute(name: string, v: AttrValue): PbWriter {
  const a = new PbWriter().string(1, name);
  if (v instanceof FloatAttr) a.float(2, v.value).int(20, AttrType.FLOAT);
  else if (v instanceof FloatsAttr) a.packedFloats(7, [...v.values]).int(20, AttrType.FLOATS);
  else if (typeof v === 'number') a.int(3, v).int(20, AttrType.INT);
  else if (typeof v === 'string') a.string(4, v).int(20, AttrType.STRING);
  else a.packedInts(8, v).int(20, AttrType.INTS);
  return a;
}

function node(n: GraphNode): PbWriter {
  const w = new PbWriter();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name).string(4, n.op);
  for (const [k, v] of Object.entries(n.attrs)) w.message(5, attribute(k, v));
  if (n.domain) w.string(7, n.domain);
  return w;
}

function tensor(init: Initializer, weights: WeightLookup): PbWriter {
  const data = init.data(weights);
  const expected = init.dims.reduce((p, d) => p * d, 1);
  if (data.length !== expected) {
    throw new Error(`internal: initializer ${init.name} has ${data.length} values for dims (${init.dims})`);
  }
  const w = new PbWriter().packedInts(1, init.dims).int(2, DATA_TYPE[init.dtype]);
  w.string(8, init.name);
  w.bytes(9, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return w;
}

function valueInfo(io: GraphIO, batch: number | undefined): PbWriter {
  const shape = new PbWriter();
  io.shape.forEach((d, i) => {
    const dim = new PbWriter();
    if (i === 0 && d === -1) {
      if (batch === undefined) dim.string(2, io.dimName ?? 'batch');
      else dim.int(1, batch);
    } else dim.int(1, d);
    shape.message(1, dim);
  });
  const tensorType = new PbWriter().int(1, DATA_TYPE[io.dtype ?? 'float32']).message(2, shape);
  const type = new PbWriter().message(1, tensorType);
  return new PbWriter().string(1, io.name).message(2, type);
}

/**
 * Encodes the graph as ONNX bytes. Initializers referenced by no node are left out.
 *
 * @example
 * ```ts
 * const bytes = serializeModel(graph, (name) => weights.get(name)!, { batch: 1 });
 * ```
 */
export function serializeModel(g: Graph, weights: WeightLookup, opts: SerializeOptions = {}): Uint8Array {
  const used = new Set<string>();
  for (const n of g.nodes) for (const i of n.inputs) used.add(i);
  const graph = new PbWriter();
  for (const n of g.nodes) graph.message(1, node(n));
  graph.string(2, opts.name ?? 'flatten_vit');
  for (const init of g.initializers.values()) if (used.has(init.name)) graph.message(5, tensor(init, weights));
  for (const i of g.inputs) graph.message(11, valueInfo(i, opts.batch));
  for (const o of g.outputs) graph.message(12, valueInfo(o, opts.batch));
  const model = new PbWriter().int(1, IR_VERSION).string(2, 'flatten-vit').string(3, '0.1.0');
  model.message(7, graph);
  model.message(8, new PbWriter().string(1, '').int(2, OPSET));
  for (const domain of new Set(g.nodes.map((n) => n.domain).filter((d) => d))) model.message(8, new PbWriter().string(1, domain).int(2, 1));
  for (const [k, v] of Object.entries(opts.metadata ?? {})) model.message(14, new PbWriter().string(1, k).string(2, v));
  return model.finish();
}
