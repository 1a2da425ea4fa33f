/**
 * flatten-vit: the FLatten Transformer family (focused linear attention) in TypeScript. Official
 * checkpoints in, official outputs out, run by onnxruntime.
 *
 * @example
 * ```ts
 * import { FlattenModel, readNpy } from 'flatten-vit';
 * const model = await FlattenModel.load('flatten_swin_t', 'flatten_swin_t.pth');
 * const { logits } = await model.predict(readNpy('input.npy'));
 * ```
 *
 * @packageDocumentation
 */
export { FlattenModel, type ArchitectureSpec, type LoadOptions, type Prediction } from './model.js';
export { readWeights, type LoadedWeights } from './weights.js';
export { resolveArchitecture, registeredNames, FAMILIES, type Architecture, type ArchitectureConfig } from './models/registry.js';
export { defineModel, countParams, type ModelDefinition, type DefineOptions } from './models/define.js';
export { mapStateDict, describeMismatch, type MappingReport } from './models/mapping.js';
export { openCheckpoint, type CheckpointInput } from './checkpoint/open.js';
export type { StateDict, LazyTensor } from './checkpoint/lazy.js';
export { encodeSafetensors, writeSafetensors } from './checkpoint/safetensors.js';
export { serializeModel, OPSET } from './graph/onnx.js';
export { decodeNpy, encodeNpy, readNpy, writeNpy } from './io/npy.js';
export type { Tensor, DType } from './tensor.js';
export { FlattenError } from './util/errors.js';
export type { RuntimeOptions } from './runtime/session.js';
