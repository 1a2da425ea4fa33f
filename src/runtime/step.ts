/**
 * Step sessions whose "device" is ordinary memory: onnxruntime-node's CPU provider and
 * onnxruntime-web's WASM provider. A device tensor is then a float32 array; feeding it moves nothing
 * and reading it copies nothing, so nothing is ever downloaded.
 */
import type { Tensor } from '../tensor.js';
import { type DeviceTensor, isDeviceTensor, type RuntimeSession, type StepRuntime, type StepSession } from './types.js';

/** A device tensor held in ordinary memory. */
class HostTensor implements DeviceTensor {
  constructor(
    readonly shape: readonly number[],
    private data: Float32Array | null,
  ) {}

  read(): Promise<Float32Array> {
    if (!this.data) return Promise.reject(new Error('internal: a disposed tensor was read'));
    return Promise.resolve(this.data);
  }

  /** The values, for a run's input. */
  get values(): Float32Array {
    if (!this.data) throw new Error('internal: a disposed tensor was fed');
    return this.data;
  }

  dispose(): void {
    this.data = null;
  }
}

/**
 * A {@link StepRuntime} over sessions that compute in ordinary memory. With `writesInto` (what
 * onnxruntime-node does), outputs a run asks to update in place are written into the input's array;
 * without it (onnxruntime-web's WASM build copies a pre-allocated CPU output into its heap and never
 * back), they come back as new arrays, which is the same state at the cost of one copy.
 * `nchwcKernels`, where given, says whether training graphs may use onnxruntime's blocked-layout CPU
 * kernels (onnxruntime-node's CPU provider alone).
 *
 * @example
 * ```ts
 * const rt = hostStepRuntime('cpu', (bytes) => createSession(bytes, { threads: 2 }), true);
 * const s = await rt.createSession(bytes, ['grads.0']);
 * ```
 */
export function hostStepRuntime(
  name: string,
  create: (model: Uint8Array) => Promise<RuntimeSession>,
  writesInto: boolean,
  nchwcKernels?: () => Promise<boolean>,
): StepRuntime {
  return {
    name,
    ...(nchwcKernels ? { nchwcKernels } : {}),
    downloadedBytes: 0,
    async createSession(model: Uint8Array): Promise<StepSession> {
      const session = await create(model);
      return {
        async run(inputs, outputs) {
          const feeds: Record<string, Tensor> = {};
          for (const [k, t] of Object.entries(inputs))
            feeds[k] = isDeviceTensor(t) ? { shape: t.shape, data: (t as HostTensor).values } : t;
          const into: Record<string, Float32Array> = {};
          if (writesInto) for (const [out, input] of Object.entries(outputs.inPlace ?? {})) into[out] = feeds[input].data;
          const out = await session.run(feeds, [...outputs.host, ...outputs.device], into);
          const host: Record<string, Tensor> = {};
          const device: Record<string, DeviceTensor> = {};
          for (const k of outputs.host) host[k] = out[k];
          for (const k of outputs.device) device[k] = new HostTensor(out[k].shape, into[k] ?? out[k].data);
          return { host, device };
        },
        release: () => session.release(),
      };
    },
    upload: (t) => Promise.resolve(new HostTensor(t.shape, t.data)),
  };
}
