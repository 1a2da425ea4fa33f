/**
 * What the server's main thread and its worker threads say to each other: the settings every worker
 * starts with, the tasks, and their results.
 */
import type { Precision } from '../graph/graph.js';

/** One served model as the workers load it. */
export interface ServedModelSpec {
  /** The name in the URLs. */
  name: string;
  /** A registered architecture or a config file. */
  arch: string;
  /** Weights; random weights (seed 0) when absent, as `bench` uses. */
  checkpoint?: string;
  ema?: boolean;
  precision?: Precision;
}

/** What every worker thread starts with. */
export interface PoolSettings {
  models: ServedModelSpec[];
  threads: number;
  executionProviders?: string[];
  /** The nice value each worker sets itself to (Linux), whatever it inherited from the HTTP thread. */
  nice?: number;
}

/** What the server knows of a loaded model. */
export interface ModelInfo {
  name: string;
  /** The registered architecture (or `custom`). */
  arch: string;
  /** (C, H, W) of one image. */
  inputShape: [number, number, number];
  classes: number;
  featureDim: number;
  classNames?: string[];
  /** Whether the official evaluation center-crops for this model. */
  crop: boolean;
  warnings: string[];
}

export type WorkerTask =
  | { kind: 'describe'; model: string }
  | { kind: 'preprocess'; model: string; bytes: Uint8Array; source: string; crop: boolean; exifOrientation: boolean }
  | { kind: 'batch'; model: string; images: number; pixels: Float32Array };

export type WorkerResult =
  | { kind: 'describe'; info: ModelInfo }
  | { kind: 'preprocess'; pixels: Float32Array }
  | { kind: 'error'; error: string }
  | { kind: 'batch'; logits: Float32Array; features: Float32Array; computeSeconds: number };
