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
  /** Runs the model on float32 inputs; returns the requested outputs (all when `outputs` is absent). */
  run(inputs: Record<string, Tensor>, outputs?: readonly string[]): Promise<Record<string, Tensor>>;
  readonly outputNames: readonly string[];
  release(): Promise<void>;
}
