/**
 * flatten-vit in the browser: the same architectures, checkpoint reader, preprocessing and analyses
 * as in Node, run by onnxruntime-web (WebGPU or WASM). Bundlers pick this entry through the
 * package's `browser` condition.
 *
 * @example
 * ```ts
 * import { WebModel, decodeImage, evalTransform, topK } from 'flatten-vit';
 * const model = await WebModel.load('flatten_pvt_t', checkpointFile);
 * const x = evalTransform(decodeImage(new Uint8Array(await imageFile.arrayBuffer())), { size: 224 });
 * console.log(topK((await model.predict(x)).logits.data, 5));
 * ```
 *
 * @packageDocumentation
 */
export { WebModel, readCheckpointBytes, type WebCheckpoint, type WebLoadOptions, type LoadProgress } from './model.js';
export { configureWebRuntime, type WebBackend, type WebRuntimeInfo, webGpuAdapter } from '../runtime/web.js';
export { ModelBase, type Prediction } from '../model_base.js';
export { resolveArchitecture, registeredNames, FAMILIES, type Architecture, type ArchitectureConfig } from '../models/registry.js';
export { defineModel, countParams, type ModelDefinition } from '../models/define.js';
export { readCheckpoint } from '../checkpoint/read.js';
export { MemorySource } from '../checkpoint/source.js';
export type { StateDict, LazyTensor } from '../checkpoint/lazy.js';
export { serializeModel, OPSET } from '../graph/onnx.js';
export type { Tensor } from '../tensor.js';
export { FlattenError } from '../util/errors.js';
export { officialCrop } from '../classify/crop.js';
export { topK, type LabelScore } from '../classify/topk.js';
export { IMAGENET_LABELS } from '../classify/labels.js';
export { decodeImage, type DecodeOptions } from '../preprocess/decode.js';
export { evalImage, evalTransform, toNormalizedTensor, type TransformOptions } from '../preprocess/transform.js';
export type { RgbImage } from '../preprocess/image.js';
export { attentionRows, locateToken, rowOnStage, stageGrid, type AttentionRows, type AttentionSelection } from '../analysis/attention.js';
export { overlay } from '../analysis/draw.js';
export { WebTrainer, type WebTrainerOptions, type WebTrainInfo, type WebTrainHooks, type WebStart } from './train.js';
export { fitPart, trainingMemory } from './memory.js';
export { webStepRuntime } from '../runtime/web.js';
export { encodeSafetensors } from '../checkpoint/safetensors.js';
export { exportOnnx } from '../model_base.js';
export { torchArchive } from '../checkpoint/torch_save.js';
export { isImageName, walkOrder, type Sample } from '../data/sample.js';
export type { StepRecord } from '../train/trainer.js';
export type { EpochRecord, LoopResult } from '../train/loop.js';
export type { AttentionKind } from '../analysis/attention.js';
export type { ByteSource } from '../checkpoint/source.js';
