/**
 * The Open Inference Protocol (KServe v2) for FLatten models: reading an infer request, in JSON or
 * with the binary tensor extension, checked against the model before anything is queued, and writing
 * its response, with the classification extension. Pure functions over bytes and objects.
 *
 * Tensors: input `pixel_values` FP32 (B, C, H, W); outputs `logits` FP32 (B, classes) and `features`
 * FP32 (B, features).
 */
import type { ModelInfo } from './tasks.js';

/** An error answered with its HTTP status and `{"error": message}`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const INPUT = 'pixel_values';
export const OUTPUTS = ['logits', 'features'] as const;
export type OutputName = (typeof OUTPUTS)[number];

/** One output a request asks for. */
export interface RequestedOutput {
  name: OutputName;
  binary: boolean;
  /** Top-k as `value:index:label` strings (the classification extension) instead of the tensor. */
  classification?: number;
}

/** A checked infer request. */
export interface InferRequest {
  id?: string;
  images: number;
  /** (images, C, H, W) float32, row-major. */
  pixels: Float32Array;
  outputs: RequestedOutput[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function bad(message: string): HttpError {
  return new HttpError(400, message);
}

/** Flattens JSON tensor data (flat or nested up to the tensor's rank, row-major) into `out`; returns how many values it held. */
function flattenInto(data: unknown, out: Float32Array, at: number, depth = 0): number {
  if (typeof data === 'number') {
    if (at >= out.length) return at + 1;
    out[at] = data;
    return at + 1;
  }
  if (!Array.isArray(data)) throw bad(`input '${INPUT}': data must hold numbers, found ${data === null ? 'null' : typeof data}`);
  if (depth > 4) throw bad(`input '${INPUT}': data is nested deeper than the tensor's 4 dimensions`);
  let i = at;
  for (const d of data) {
    if (typeof d === 'number') {
      if (i < out.length) out[i] = d;
      i++;
    } else {
      i = flattenInto(d, out, i, depth + 1);
    }
    if (i > out.length) break;
  }
  return i;
}

/**
 * Reads an infer request for `model`. `body` is the whole request body; `headerLength` the
 * `Inference-Header-Content-Length` header when the binary extension is used. Throws {@link HttpError}
 * (400) naming what was expected.
 */
export function parseInferRequest(body: Uint8Array, headerLength: number | undefined, model: ModelInfo, maxBatch: number): InferRequest {
  if (headerLength !== undefined && (!Number.isInteger(headerLength) || headerLength < 0 || headerLength > body.length)) {
    throw bad(`Inference-Header-Content-Length ${headerLength} is not within the body's ${body.length} bytes`);
  }
  const jsonEnd = headerLength ?? body.length;
  let req: unknown;
  try {
    req = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body.subarray(0, jsonEnd)));
  } catch (e) {
    throw bad(`the request is not JSON: ${(e as Error).message}`);
  }
  if (!isObject(req)) throw bad('the request must be a JSON object with "inputs"');
  const inputs = req.inputs;
  if (!Array.isArray(inputs) || inputs.length !== 1 || !isObject(inputs[0])) {
    throw bad(`"inputs" must hold one tensor, '${INPUT}'`);
  }
  const input = inputs[0];
  if (input.name !== INPUT) throw bad(`expected input '${INPUT}', found '${String(input.name)}'`);
  if (input.datatype !== 'FP32') throw bad(`input '${INPUT}' must be FP32, found ${JSON.stringify(input.datatype)}`);
  const [c, h, w] = model.inputShape;
  const shape = input.shape;
  if (
    !Array.isArray(shape) ||
    shape.length !== 4 ||
    !shape.every((d) => Number.isInteger(d)) ||
    shape[1] !== c ||
    shape[2] !== h ||
    shape[3] !== w ||
    (shape[0] as number) < 1
  ) {
    throw bad(`input '${INPUT}' must have shape [B, ${c}, ${h}, ${w}], found ${JSON.stringify(shape)}`);
  }
  const images = shape[0] as number;
  if (images > maxBatch) throw new HttpError(413, `a batch of ${images} images is more than the ${maxBatch} allowed (--max-batch)`);
  const count = images * c * h * w;
  const pixels = new Float32Array(count);
  const params = isObject(input.parameters) ? input.parameters : {};
  if (params.binary_data_size !== undefined) {
    if (headerLength === undefined)
      throw bad(`input '${INPUT}' has binary_data_size but the request has no Inference-Header-Content-Length`);
    const size = params.binary_data_size;
    if (size !== count * 4)
      throw bad(`input '${INPUT}': binary_data_size must be ${count * 4} (${count} FP32 values), found ${JSON.stringify(size)}`);
    if (body.length - jsonEnd !== size)
      throw bad(`input '${INPUT}': expected ${size} bytes of binary data after the JSON header, found ${body.length - jsonEnd}`);
    new Uint8Array(pixels.buffer).set(body.subarray(jsonEnd, jsonEnd + size));
  } else {
    if (input.data === undefined) throw bad(`input '${INPUT}' has neither data nor binary_data_size`);
    const n = flattenInto(input.data, pixels, 0);
    if (n !== count) throw bad(`input '${INPUT}' of shape ${JSON.stringify(shape)} needs ${count} values, found ${n > count ? 'more' : n}`);
    if (headerLength !== undefined && body.length !== jsonEnd)
      throw bad('binary data follows the JSON header but no input declares binary_data_size');
  }
  for (let i = 0; i < count; i++) {
    if (!Number.isFinite(pixels[i])) throw bad(`input '${INPUT}' holds a non-finite value at index ${i}`);
  }
  const reqParams = isObject(req.parameters) ? req.parameters : {};
  const binaryDefault = reqParams.binary_data_output === true;
  let outputs: RequestedOutput[];
  if (req.outputs === undefined) outputs = OUTPUTS.map((name) => ({ name, binary: binaryDefault }));
  else {
    if (!Array.isArray(req.outputs) || req.outputs.length === 0) throw bad('"outputs" must be a non-empty array');
    outputs = req.outputs.map((o: unknown) => {
      if (!isObject(o) || !OUTPUTS.includes(o.name as OutputName)) {
        throw bad(`expected outputs among ${OUTPUTS.map((x) => `'${x}'`).join(', ')}, found ${JSON.stringify(isObject(o) ? o.name : o)}`);
      }
      const p = isObject(o.parameters) ? o.parameters : {};
      const out: RequestedOutput = {
        name: o.name as OutputName,
        binary: typeof p.binary_data === 'boolean' ? p.binary_data : binaryDefault,
      };
      if (p.classification !== undefined) {
        if (!Number.isInteger(p.classification) || (p.classification as number) < 1) {
          throw bad(`output '${out.name}': classification must be a positive integer, found ${JSON.stringify(p.classification)}`);
        }
        out.classification = p.classification as number;
      }
      return out;
    });
  }
  const id = typeof req.id === 'string' ? req.id : undefined;
  return { ...(id !== undefined ? { id } : {}), images, pixels, outputs };
}

/** The `k` best classes of one row as Triton writes them: `value:index:label` (the output's own value). */
export function classificationStrings(row: Float32Array, k: number, labels: (i: number) => string): string[] {
  const order = Array.from({ length: row.length }, (_, i) => i).sort((a, b) => row[b] - row[a] || a - b);
  return order.slice(0, Math.min(k, row.length)).map((i) => `${row[i]}:${i}:${labels(i)}`);
}

/** BYTES elements in the binary extension's layout: each a 4-byte little-endian length, then its bytes. */
function encodeBytes(strings: readonly string[]): Uint8Array {
  const parts = strings.map((s) => new TextEncoder().encode(s));
  const out = new Uint8Array(parts.reduce((n, p) => n + 4 + p.length, 0));
  const view = new DataView(out.buffer);
  let at = 0;
  for (const p of parts) {
    view.setUint32(at, p.length, true);
    out.set(p, at + 4);
    at += 4 + p.length;
  }
  return out;
}

/** An infer response: the JSON object, and the binary data that follows it (when any output is binary). */
export interface InferResponse {
  json: Record<string, unknown>;
  binary: Uint8Array[];
}

/** Builds the response to `req` from its outputs. */
export function inferResponse(
  model: ModelInfo,
  req: InferRequest,
  out: { logits: Float32Array; features: Float32Array },
  labels: (i: number) => string,
): InferResponse {
  const binary: Uint8Array[] = [];
  const outputs = req.outputs.map((o) => {
    const width = o.name === 'logits' ? model.classes : model.featureDim;
    const values = out[o.name];
    let shape: number[];
    let datatype: string;
    let data: number[] | string[];
    let bytes: Uint8Array;
    if (o.classification !== undefined) {
      const k = Math.min(o.classification, width);
      const strings: string[] = [];
      for (let i = 0; i < req.images; i++) strings.push(...classificationStrings(values.subarray(i * width, (i + 1) * width), k, labels));
      shape = [req.images, k];
      datatype = 'BYTES';
      data = strings;
      bytes = o.binary ? encodeBytes(strings) : new Uint8Array();
    } else {
      shape = [req.images, width];
      datatype = 'FP32';
      data = o.binary ? [] : Array.from(values);
      bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    }
    if (o.binary) {
      binary.push(bytes);
      return { name: o.name, datatype, shape, parameters: { binary_data_size: bytes.length } };
    }
    return { name: o.name, datatype, shape, data };
  });
  return {
    json: { model_name: model.name, model_version: '1', ...(req.id !== undefined ? { id: req.id } : {}), outputs },
    binary,
  };
}

/** `GET /v2/models/{m}`: the model's metadata. */
export function modelMetadata(model: ModelInfo): Record<string, unknown> {
  return {
    name: model.name,
    versions: ['1'],
    platform: 'onnxruntime_onnx',
    inputs: [{ name: INPUT, datatype: 'FP32', shape: [-1, ...model.inputShape] }],
    outputs: [
      { name: 'logits', datatype: 'FP32', shape: [-1, model.classes] },
      { name: 'features', datatype: 'FP32', shape: [-1, model.featureDim] },
    ],
  };
}
