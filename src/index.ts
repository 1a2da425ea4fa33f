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
export { exportOnnx } from './model_base.js';
export { resolveArchitecture, registeredNames, FAMILIES, type Architecture, type ArchitectureConfig } from './models/registry.js';
export { resolveArchitectureSpec } from './models/config_file.js';
export { defineModel, countParams, type ModelDefinition, type DefineOptions } from './models/define.js';
export { mapStateDict, describeMismatch, type MappingReport } from './models/mapping.js';
export { openCheckpoint, type CheckpointInput } from './checkpoint/open.js';
export type { StateDict, LazyTensor } from './checkpoint/lazy.js';
export { encodeSafetensors } from './checkpoint/safetensors.js';
export { serializeModel, OPSET } from './graph/onnx.js';
export { decodeNpy, encodeNpy, readNpy, writeNpy } from './io/npy.js';
export type { Tensor, DType } from './tensor.js';
export { FlattenError } from './util/errors.js';
export { nodeStepRuntime, type RuntimeOptions, type StepRuntime, type DeviceTensor } from './runtime/session.js';
export { classifyImages, type Classification, type ClassifyOptions } from './classify/classify.js';
export { officialCrop } from './classify/crop.js';
export { evaluateFolder, type EvaluateOptions, type EvaluationSummary } from './classify/evaluate.js';
export { listImageFolder, type ImageFolder, type Sample } from './classify/dataset.js';
export { topK, type LabelScore } from './classify/topk.js';
export { IMAGENET_LABELS } from './classify/labels.js';
export { decodeImage, type DecodeOptions } from './preprocess/decode.js';
export { evalImage, evalTransform, type TransformOptions } from './preprocess/transform.js';
export { resizeImage } from './preprocess/resize.js';
export { loadImage, type ImageInput, type RawPixels } from './preprocess/input.js';
export type { RgbImage } from './preprocess/image.js';
export { fetchPretrained, cacheDir } from './hub/download.js';
export { PRETRAINED } from './hub/pretrained.js';
export { countMacs } from './graph/macs.js';
export { train, type TrainRunOptions, type TrainResult, type InitialWeights, type EpochRecord } from './train/run.js';
export {
  batchFolderData,
  imageFolderData,
  listDataFolder,
  type TrainData,
  type ImageFolderDataOptions,
  type ImageFolderSplit,
} from './train/data.js';
export { trainTransform, valTransform, type TransformSettings } from './data/transforms.js';
export { parseRandAugment, randAugment, type RandAugmentPolicy } from './data/rand_augment.js';
export { SampleLoader, type LabeledBatch } from './data/sample_loader.js';
export { Trainer, type StepRecord, type TrainerOptions, type TrainerSnapshot } from './train/trainer.js';
export { buildConfig, defaultConfig, type TrainingConfig } from './train/config.js';
export { loadConfig } from './train/config_file.js';
export { trainSettings, transformSettings, type TrainSettings } from './train/settings.js';
export { trainingArchitecture } from './train/architecture.js';
export { listBatches } from './train/batches.js';
export { trainingCheckpoint, readResumeCheckpoint } from './train/checkpoint.js';
export { saveTorch } from './checkpoint/torch_file.js';
export { torchArchive } from './checkpoint/torch_save.js';
export { defineTrainingGraph, type TrainingGraph } from './train/training_graph.js';
export { differentiate } from './graph/autodiff.js';
export type { Family, FamilyName, BuiltModel } from './models/family.js';
export type { ArgSchema, ArgSpec, ArgKind } from './models/args.js';
export type { StageShape } from './models/define.js';
export type { KeyStyle } from './models/mapping.js';
export type { PretrainedEntry } from './hub/pretrained.js';
export type { DownloadProgress } from './hub/download.js';
export type { TorchReadOptions } from './checkpoint/torch.js';
export type { PyValue, PyFloat, PyTupleValue, PyOrderedDict, PyTensor } from './checkpoint/pickle_writer.js';
export type {
  Graph,
  GraphIO,
  GraphNode,
  AttrValue,
  FloatAttr,
  FloatsAttr,
  Initializer,
  BufferSpec,
  ParamSpec,
  Precision,
  AttentionProbe,
  ProbeProjection,
  TrainingTrace,
  WeightLookup,
} from './graph/graph.js';
export type { SerializeOptions } from './graph/onnx.js';
export type { RuntimeSession, StepSession, StepOutputs } from './runtime/types.js';
export type { Resample } from './preprocess/resize.js';
export type { AugmentContext } from './data/rand_augment.js';
export type { SampleLoaderOptions } from './data/sample_loader.js';
export type { SampleJob, SampleResult } from './data/sample.js';
export type { Random } from './util/random.js';
export type { BatchFiles } from './train/batches.js';
export type { ConfigDocument, ConfigTree, ConfigValue } from './train/config.js';
export type { MixupSettings } from './train/mixup.js';
export type { OptimizerSettings, ParamGroup, ParamState } from './train/optimizer.js';
export type { ParamLayout, FlatBuffer, Slot } from './train/layout.js';
export type { ResumeCheckpoint } from './train/checkpoint.js';
export type { ResumeState } from './train/trainer.js';
export type { ScheduleSettings } from './train/schedule.js';
export type { TrainingGraphOptions } from './train/training_graph.js';
export type { UpdateOptions } from './train/update_graph.js';
export type { Validation } from './train/validate.js';
