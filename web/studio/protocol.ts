/**
 * Messages between the training page and its worker, and the run record both keep in storage. The
 * page asks; the worker trains, and reports every step, every epoch and every checkpoint as events.
 */
import type { ArchitectureConfig, LabelScore, WebBackend } from '../../src/web/index.js';
import type { BenchResult } from './bench.js';

export type { BenchResult } from './bench.js';

/** What a run is asked to do: the page's controls, as the official config's keys. */
export interface RunRequest {
  arch: string | ArchitectureConfig;
  /** A name for the architecture in messages (the registered name, or the config file's). */
  archName: string;
  /** KEY VALUE pairs over the official defaults (the recipe fields, or a YAML recipe's keys). */
  opts: string[];
  /** A dropped YAML recipe's text, merged before `opts`. */
  recipe: { name: string; text: string } | null;
  seed: number;
  /** `full`, `backbone` (linear probe) or `stages:A-B`. */
  freeze: string;
  emaDecay: number | null;
  backend: WebBackend | 'auto';
  /** A checkpoint to fine-tune from, or null for fresh weights. */
  checkpoint: { name: string; blob: Blob } | null;
  /** Augmentation off: the evaluation transform for training images too, no mixup or cutmix. */
  augment: boolean;
}

/** The samples a run trains on, fixed when it starts (keys are image ids). */
export interface RunSamples {
  classes: string[];
  train: { path: string; target: number }[];
  val: { path: string; target: number }[] | null;
}

/** One step as the page charts it. */
export interface StepPoint {
  epoch: number;
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
}

/** One epoch as the page shows it. */
export interface EpochPoint {
  epoch: number;
  trainLoss: number;
  lr: number;
  valLoss: number | null;
  valAcc1: number | null;
  valAcc5: number | null;
  /** `confusion[label][predicted]` on the validation images. */
  confusion: number[][] | null;
  seconds: number;
}

/** The run kept in storage. */
export interface RunRecord {
  key: 'current';
  request: RunRequest;
  samples: RunSamples;
  status: 'running' | 'paused' | 'stopped' | 'done' | 'failed';
  /** The last checkpoint (`.pth`), and where in the run it was made. */
  checkpoint: Blob | null;
  at: { epoch: number; stepInEpoch: number } | null;
  steps: StepPoint[];
  epochs: EpochPoint[];
  error?: string;
}

/** What the page asks the worker. */
export type Request =
  | { type: 'start'; resume: boolean }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'stop' }
  | { type: 'classify'; image: Blob; name: string }
  | { type: 'export'; format: 'safetensors' | 'onnx' }
  /** Times training on synthetic images (`npm run bench:web-train`): steps of a full run, or a whole linear probe. */
  | {
      type: 'bench';
      arch: string;
      batch: number;
      images: number;
      epochs: number;
      probe: boolean;
      backend: WebBackend;
      threads: number;
      /** Images per training run, instead of what the page computes fits (to check that computation). */
      part?: number;
    };

/** What the worker tells the page. */
export type Event =
  | {
      kind: 'started';
      backend: WebBackend;
      threads: number;
      adapter?: string;
      notice?: string;
      batch: number;
      part: number;
      stepsPerEpoch: number;
      totalEpochs: number;
      startEpoch: number;
      startStep: number;
    }
  | {
      kind: 'step';
      point: StepPoint;
      steps: number;
      imagesPerSecond: number;
      /** Bytes onnxruntime returned to the CPU so far, and GPU buffers mapped for reading (count, bytes). */
      downloadedBytes: number;
      gpuReads: { maps: number; bytes: number };
    }
  | { kind: 'epoch'; point: EpochPoint }
  | { kind: 'saved'; epoch: number; stepInEpoch: number }
  /** Features of a linear probe computed so far. */
  | { kind: 'preparing'; done: number; total: number }
  | { kind: 'ended'; status: 'done' | 'stopped' }
  | { kind: 'warning'; message: string }
  | { kind: 'skipped'; count: number; message: string }
  | { kind: 'error'; message: string }
  | { kind: 'classified'; top: LabelScore[] }
  | { kind: 'exported'; format: 'safetensors' | 'onnx'; bytes: Uint8Array }
  | { kind: 'bench'; result: BenchResult };
