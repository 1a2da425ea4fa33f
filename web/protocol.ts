/**
 * Messages between the demo page and its inference worker. Every request carries an id; the worker
 * answers it once with a result or an error (one line), and may send progress for it before that.
 */
import type { ArchitectureConfig, LabelScore, LoadProgress, WebBackend } from '../src/web/index.js';

/** The attention kinds the demo draws, in display order. */
export const DEMO_KINDS = ['focused_dwc', 'focused', 'linear', 'softmax'] as const;
export type DemoKind = (typeof DEMO_KINDS)[number];

/** What the page asks the worker to do. */
export type Request =
  | {
      type: 'load';
      arch: string | ArchitectureConfig;
      /** A picked or dropped file, or a URL. */
      checkpoint: Blob | string;
      name: string;
      backend: WebBackend | 'auto';
      /** WASM threads; default min(cores, 4) when the page is cross-origin isolated. */
      threads?: number;
    }
  | { type: 'classify'; image: Blob; name: string }
  /** `x`, `y` in [0, 1) of the model's input picture. */
  | { type: 'attention'; stage: number; block: number; head: number; x: number; y: number }
  | { type: 'bench'; arch: string; seconds: number; threads: number }
  | { type: 'unload' };

/** An attention layer the user can pick. */
export interface BlockInfo {
  stage: number;
  block: number;
  kind: 'softmax' | 'focused';
  heads: number;
}

export interface LoadResult {
  name: string;
  family: string;
  params: number;
  inputSize: number;
  blocks: BlockInfo[];
  backend: WebBackend;
  threads: number;
  /** The WebGPU adapter (`google swiftshader`), on WebGPU. */
  adapter?: string;
  notice?: string;
  warnings: string[];
}

export interface ClassifyResult {
  top: LabelScore[];
  logits: Float32Array;
  latencyMs: number;
  /** The picture the model saw (after resize and crop), RGB. */
  seen: { width: number; height: number; data: Uint8Array };
}

/** One kind's attention of the clicked token over the keys, on the keys' grid (rows × cols). */
export interface AttentionMap {
  grid: [number, number];
  data: Float32Array;
  /** How many keys the token attends over (the row's length before it was spread on the grid). */
  keys: number;
}

export interface AttentionResult {
  kinds: Partial<Record<DemoKind, AttentionMap>>;
  /** The query token on the stage grid. */
  query: { row: number; col: number; grid: [number, number] };
  latencyMs: number;
}

export interface BenchResult {
  imagesPerSecond: number;
  runs: number;
  backend: WebBackend;
  threads: number;
}

export type Result = LoadResult | ClassifyResult | AttentionResult | BenchResult | null;

/** What the worker sends back. */
export type Response =
  | { id: number; kind: 'result'; result: Result }
  | { id: number; kind: 'error'; error: string }
  | { id: number; kind: 'progress'; progress: LoadProgress | { phase: 'preparing'; done: number; total: number } };
