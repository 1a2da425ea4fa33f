/**
 * The part of a `RuntimeSession` that is the same for onnxruntime-node and onnxruntime-web: float32
 * tensors in, named outputs back as flatten-vit tensors.
 */
import type { Tensor } from '../tensor.js';
import type { RuntimeSession } from './types.js';

/** What both onnxruntime packages' sessions offer (their `InferenceSession`s share this shape). */
interface OrtSession<T> {
  readonly outputNames: readonly string[];
  run(
    feeds: Record<string, T>,
    fetches: string[] | Record<string, T | null>,
  ): Promise<Record<string, { dims: readonly number[]; data: unknown }>>;
  release(): Promise<void>;
}

/** Wraps an onnxruntime session; `tensor` makes that package's float32 tensor. */
export function wrapSession<T>(session: OrtSession<T>, tensor: (data: Float32Array, dims: number[]) => T): RuntimeSession {
  return {
    outputNames: session.outputNames,
    async run(inputs, outputs, into) {
      const feeds: Record<string, T> = {};
      for (const [name, t] of Object.entries(inputs)) feeds[name] = tensor(t.data, [...t.shape]);
      const names = [...(outputs ?? session.outputNames)];
      const fetches = into ? Object.fromEntries(names.map((n) => [n, into[n] ? tensor(into[n], [into[n].length]) : null])) : names;
      const result = await session.run(feeds, fetches);
      const out: Record<string, Tensor> = {};
      for (const [name, t] of Object.entries(result)) out[name] = { shape: t.dims.map(Number), data: t.data as Float32Array };
      return out;
    },
    release: () => session.release(),
  };
}
