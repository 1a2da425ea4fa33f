/**
 * What the rest of the library needs from a runtime, whichever one runs the model: onnxruntime-node
 * in Node (`session.ts`) or onnxruntime-web in the browser (`web.ts`).
 */
import type { Tensor } from '../tensor.js';

/** Session options flatten-vit exposes (in the browser, `executionProviders` are `webgpu` and `wasm`). */
export interface RuntimeOptions {
  /** Intra-op threads; onnxruntime's default (all cores) when absent. */
  threads?: number;
  /** Execution providers in order of preference, e.g. `['cuda', 'cpu']`. Default `['cpu']`. */
  executionProviders?: string[];
  /** Graph optimization level. Default `all`. */
  optimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /**
   * onnxruntime's memory pattern (one planned block for all intermediate tensors). Default on; training
   * graphs turn it off, which lowers their peak memory by a third at a small cost in speed.
   */
  memoryPattern?: boolean;
  /** Write the optimized model here (onnxruntime's `optimizedModelFilePath`). */
  optimizedModelPath?: string;
}

/** A loaded model ready to run. */
export interface RuntimeSession {
  /**
   * Runs the model on float32 inputs; returns the requested outputs (all when `outputs` is absent).
   * `into` gives arrays some outputs are written to instead of new ones (onnxruntime's pre-allocated
   * outputs).
   */
  run(inputs: Record<string, Tensor>, outputs?: readonly string[], into?: Record<string, Float32Array>): Promise<Record<string, Tensor>>;
  readonly outputNames: readonly string[];
  /** Frees the session and its memory; the session cannot run after it. */
  release(): Promise<void>;
}

/**
 * A tensor a runtime keeps between runs where its provider computes: in GPU memory on WebGPU, in
 * ordinary memory on a CPU. Feeding it to a run moves nothing; reading it is a download on a GPU.
 */
export interface DeviceTensor {
  readonly shape: readonly number[];
  /** Copies the values out (a GPU-to-CPU download on a GPU). */
  read(): Promise<Float32Array>;
  /** Frees its memory; it must not be fed or read afterwards. */
  dispose(): void;
}

/** What {@link StepSession.run} returns: outputs copied to the CPU, and outputs kept on the device. */
export interface StepOutputs {
  readonly host: Record<string, Tensor>;
  readonly device: Record<string, DeviceTensor>;
}

/**
 * A session whose inputs may be device tensors and whose outputs stay on the device unless asked
 * for on the host: the training step keeps its weights, gradients and optimizer state there.
 */
export interface StepSession {
  /**
   * Runs the graph; `host` outputs come back as arrays, `device` outputs as {@link DeviceTensor}s.
   * `inPlace` maps device outputs to the inputs whose memory they may take (an update whose every
   * input is read before the output that replaces it is written): a runtime in ordinary memory writes
   * them there instead of allocating, which keeps a training step's state to one copy; a GPU runtime
   * may ignore it. The input tensor is then no longer to be used.
   */
  run(
    inputs: Record<string, Tensor | DeviceTensor>,
    outputs: { host: readonly string[]; device: readonly string[]; inPlace?: Record<string, string> },
  ): Promise<StepOutputs>;
  /** Frees the session and the device memory it holds. */
  release(): Promise<void>;
}

/**
 * Where a training run computes: onnxruntime-node's CPU provider, or onnxruntime-web's WebGPU or
 * WASM provider. The training step, optimizer and schedule see only this.
 */
export interface StepRuntime {
  /** `cpu`, `webgpu` or `wasm`. */
  readonly name: string;
  /** Starts a session; `device` names the outputs that are to stay on the device. */
  createSession(model: Uint8Array, device: readonly string[]): Promise<StepSession>;
  /** Puts a tensor on the device (an upload on a GPU); the runtime may keep `t.data` itself. */
  upload(t: Tensor): Promise<DeviceTensor>;
  /** Bytes copied from the device to the CPU so far: what runs returned on the host, and reads. */
  readonly downloadedBytes: number;
  /**
   * Whether onnxruntime's blocked-layout CPU kernels run here (graph/nchwc.ts): training graphs are
   * then built for them. Absent where they cannot (onnxruntime-web, GPU providers).
   */
  nchwcKernels?(): Promise<boolean>;
}

/** True for a {@link DeviceTensor}, false for a host {@link Tensor}. */
export const isDeviceTensor = (t: Tensor | DeviceTensor): t is DeviceTensor => typeof (t as DeviceTensor).read === 'function';
