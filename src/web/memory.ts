/**
 * What fits in onnxruntime-web's WASM memory (at most 4 GiB, wasm32's limit) for training: the
 * training graph's peak of live tensors (graph/memory.ts) grows with the images per run, so it is
 * estimated at one and two images and the largest part of the batch that fits is chosen before the
 * first step; the rest of the batch is then run in parts whose gradients are summed.
 */
import type { ParamSpec } from '../graph/graph.js';
import { peakLiveBytes } from '../graph/memory.js';
import type { Architecture } from '../models/registry.js';
import { defineTrainingGraph } from '../train/training_graph.js';
import { FlattenError } from '../util/errors.js';

/** wasm32's whole address space. */
const WASM_BYTES = 4 * 2 ** 30;

/**
 * How many bytes onnxruntime-web holds per byte of the estimated peak, and what it holds besides (its
 * own code and heap, the sessions' graphs). Measured in Chromium on WASM by running parts of growing
 * size (docs/browser-training.md): PVTv2-B0 ran 44 images and failed at 48 (1.39× its estimate and
 * more), Swin-T ran 24 (1.2× and less); 1.5 keeps both inside 4 GiB.
 */
export const WASM_OVERHEAD = { factor: 1.5, fixed: 256 * 2 ** 20 };

/** The estimated WASM bytes of a training step at `part` images, and per image more. */
export function trainingMemory(arch: Architecture, frozen?: (p: ParamSpec) => boolean): { base: number; perImage: number } {
  const at = (batch: number) => peakLiveBytes(defineTrainingGraph(arch, { batch, ...(frozen ? { frozen } : {}) }).graph);
  const one = at(1);
  const perImage = at(2) - one;
  return { base: one - perImage, perImage };
}

/**
 * The largest number of images per run, dividing `batch`, whose training step fits WASM memory; one
 * line naming the largest batch that fits when not even one image does.
 *
 * @example
 * ```ts
 * fitPart(resolveArchitecture('flatten_swin_t'), 64); // e.g. 16: the batch of 64 runs in 4 parts
 * ```
 */
export function fitPart(arch: Architecture, batch: number, frozen?: (p: ParamSpec) => boolean): number {
  const { base, perImage } = trainingMemory(arch, frozen);
  const budget = (WASM_BYTES - WASM_OVERHEAD.fixed) / WASM_OVERHEAD.factor;
  const most = Math.floor((budget - base) / perImage);
  if (most < 1) {
    const gib = ((base + perImage) * WASM_OVERHEAD.factor + WASM_OVERHEAD.fixed) / 2 ** 30;
    throw new FlattenError(
      'memory',
      `${arch.name}: one training image needs about ${gib.toFixed(1)} GiB, more than WASM's 4 GiB; train it on WebGPU or pick a smaller model`,
    );
  }
  for (let part = Math.min(batch, most); part > 1; part--) if (batch % part === 0) return part;
  return 1;
}
