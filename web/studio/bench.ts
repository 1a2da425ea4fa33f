/**
 * What the training page's benchmark (`npm run bench:web-train`) reports; kept apart from the page's
 * protocol so that the Node script reading it needs no browser types.
 */

/** What a training benchmark measured. */
export interface BenchResult {
  /** `webgpu` or `wasm`. */
  backend: string;
  threads: number;
  batch: number;
  part: number;
  /** Images per second of the training steps after the first (median step). */
  imagesPerSecond: number;
  stepMs: number[];
  /** From creating the trainer to the end of the run. */
  totalSeconds: number;
  /** Of which computing a linear probe's features. */
  prepareSeconds: number;
  /** onnxruntime-web's dense float32 GEMM rate here (WASM), and the step's rate counted as 3× the forward's MACs. */
  gemmGflops: number;
  trainGflops: number;
}
