/**
 * The demo's inference worker: holds one model and the last image, and runs requests strictly one
 * after another (a queue), so quick clicks never reach onnxruntime while a run is in progress.
 * The model is rebuilt with a probe when attention is asked of another block; the checkpoint bytes
 * stay here so that needs no new upload.
 */
import {
  attentionRows,
  decodeImage,
  evalImage,
  FlattenError,
  locateToken,
  officialCrop,
  readCheckpointBytes,
  rowOnStage,
  stageGrid,
  toNormalizedTensor,
  topK,
  WebModel,
  type ArchitectureConfig,
  type LoadProgress,
  type Tensor,
  type WebBackend,
} from '../src/web/index.js';
import type {
  AttentionMap,
  AttentionResult,
  BenchResult,
  BlockInfo,
  ClassifyResult,
  DemoKind,
  LoadResult,
  Request,
  Response,
  Result,
} from './protocol.js';

interface Loaded {
  arch: string | ArchitectureConfig;
  bytes: Uint8Array;
  name: string;
  backend: WebBackend;
  model: WebModel;
  /** The block the model exposes (`stage1.block0`), or null. */
  probe: string | null;
}

let loaded: Loaded | null = null;
let input: Tensor | null = null;

const post = (r: Response, transfer: Transferable[] = []) => self.postMessage(r, { transfer });

/** The attention layers of a model, from the probes its graph records. */
function blocksOf(model: WebModel): BlockInfo[] {
  const seen = new Map<string, BlockInfo>();
  for (const p of model.definition.graph.probes) {
    const m = /^stage(\d+)\.block(\d+)\./.exec(p.scope);
    if (m && !seen.has(`${m[1]}.${m[2]}`)) seen.set(`${m[1]}.${m[2]}`, { stage: +m[1], block: +m[2], kind: p.kind, heads: p.heads });
  }
  return [...seen.values()];
}

async function release(): Promise<void> {
  const old = loaded;
  loaded = null;
  input = null;
  if (old) await old.model.dispose();
}

async function load(r: Extract<Request, { type: 'load' }>, progress: (p: LoadProgress) => void): Promise<LoadResult> {
  await release();
  const bytes = await readCheckpointBytes(r.checkpoint, progress, r.name);
  const model = await WebModel.load(r.arch, bytes, { backend: r.backend, threads: r.threads, name: r.name, onProgress: progress });
  loaded = { arch: r.arch, bytes, name: r.name, backend: model.runtime.backend, model, probe: null };
  return {
    name: model.name === 'custom' ? `custom ${model.definition.arch.family.name}` : model.name,
    family: model.definition.arch.family.name,
    params: model.paramCount,
    inputSize: model.inputShape[1],
    blocks: blocksOf(model),
    backend: model.runtime.backend,
    threads: model.runtime.threads,
    ...(model.runtime.adapter ? { adapter: model.runtime.adapter } : {}),
    ...(model.runtime.notice ? { notice: model.runtime.notice } : {}),
    warnings: [...model.warnings],
  };
}

function needModel(): Loaded {
  if (!loaded) throw new FlattenError('usage', 'load a checkpoint first');
  return loaded;
}

async function classify(r: Extract<Request, { type: 'classify' }>): Promise<ClassifyResult> {
  const { model } = needModel();
  const [, h, w] = model.inputShape;
  if (h !== w) throw new FlattenError('input', `classification needs a square input size, this model takes ${h}x${w}`);
  const bytes = new Uint8Array(await r.image.arrayBuffer());
  const seen = evalImage(decodeImage(bytes, r.name), { size: h, crop: officialCrop(model) });
  const x = toNormalizedTensor(seen);
  const t0 = performance.now();
  const { logits } = await model.predict(x);
  const latencyMs = performance.now() - t0;
  input = x;
  return { top: topK(logits.data, Math.min(5, logits.data.length), model.classNames), logits: logits.data, latencyMs, seen };
}

/** The grid of the keys: the stage grid, or a coarser one when the keys are spatially reduced (PVT). */
function keyGrid(stage: readonly [number, number], keys: number): [number, number] {
  const [H, W] = stage;
  if (keys === H * W) return [H, W];
  const kh = Math.round(Math.sqrt((keys * H) / W));
  return kh * Math.round(keys / kh) === keys ? [kh, keys / kh] : [1, keys];
}

async function attention(r: Extract<Request, { type: 'attention' }>, progress: (p: LoadProgress) => void): Promise<AttentionResult> {
  const l = needModel();
  if (!input) throw new FlattenError('usage', 'classify an image first, then click it');
  const scope = `stage${r.stage}.block${r.block}`;
  if (l.probe !== scope) {
    progress({ phase: 'building', done: 0, total: 0 });
    const model = await WebModel.load(l.arch, l.bytes, { backend: l.backend, name: l.name, probe: scope });
    await l.model.dispose();
    l.model = model;
    l.probe = scope;
  }
  const probe = l.model.definition.probe!;
  const grid = stageGrid(probe);
  const row = Math.min(grid[0] - 1, Math.floor(r.y * grid[0]));
  const col = Math.min(grid[1] - 1, Math.floor(r.x * grid[1]));
  const { window, token } = locateToken(probe, row * grid[1] + col);
  const t0 = performance.now();
  const rows = await attentionRows(l.model, input, { stage: r.stage, block: r.block, head: r.head, window }, token);
  const latencyMs = performance.now() - t0;
  const kinds: Partial<Record<DemoKind, AttentionMap>> = {};
  for (const kind of ['focused_dwc', 'focused', 'linear', 'softmax'] as const) {
    const values = rows[kind];
    if (!values) continue;
    const keys = values.length;
    if (probe.layout) kinds[kind] = { grid: [grid[0], grid[1]], data: Float32Array.from(rowOnStage(probe, window, values)), keys };
    else kinds[kind] = { grid: keyGrid(grid, keys), data: Float32Array.from(values), keys };
  }
  return { kinds, query: { row, col, grid: [grid[0], grid[1]] }, latencyMs };
}

async function bench(r: Extract<Request, { type: 'bench' }>): Promise<BenchResult> {
  const model = await WebModel.random(r.arch, { backend: 'wasm', threads: r.threads });
  try {
    const [c, h, w] = model.inputShape;
    const x: Tensor = { shape: [1, c, h, w], data: new Float32Array(c * h * w).map((_, i) => Math.sin(i)) };
    for (let i = 0; i < 3; i++) await model.predict(x);
    let runs = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < r.seconds * 1000) {
      await model.predict(x);
      runs++;
    }
    const imagesPerSecond = runs / ((performance.now() - t0) / 1000);
    return { imagesPerSecond, runs, backend: model.runtime.backend, threads: model.runtime.threads };
  } finally {
    await model.dispose();
  }
}

async function handle(id: number, r: Request): Promise<Result> {
  const progress = (p: LoadProgress) => post({ id, kind: 'progress', progress: p });
  switch (r.type) {
    case 'load':
      return load(r, progress);
    case 'classify':
      return classify(r);
    case 'attention':
      return attention(r, progress);
    case 'bench':
      return bench(r);
    case 'unload':
      await release();
      return null;
  }
}

/** One line for the page: flatten-vit's own message, or the first line of anything else. */
function message(e: unknown): string {
  if (e instanceof FlattenError) return e.message;
  const text = e instanceof Error ? e.message : String(e);
  return `unexpected error: ${text.split('\n')[0]}`;
}

let queue: Promise<void> = Promise.resolve();

/**
 * onnxruntime-web's WASM threads are workers started from this same bundle, named `em-pthread`;
 * they take their messages from onnxruntime, so only the demo's own worker answers the page.
 */
const isOrtThread = self.name.startsWith('em-pthread');

if (!isOrtThread)
  self.onmessage = (e: MessageEvent<{ id: number; request: Request }>) => {
    const { id, request } = e.data;
    queue = queue.then(async () => {
      try {
        post({ id, kind: 'result', result: await handle(id, request) });
      } catch (err) {
        post({ id, kind: 'error', error: message(err) });
      }
    });
  };
