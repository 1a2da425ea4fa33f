/**
 * The demo page: pick an architecture and a checkpoint, drop an image, read the top-5, click the
 * picture to see one token's attention. All model work happens in the worker (`worker.ts`).
 */
import { overlay } from '../src/analysis/draw.js';
import { registeredNames, resolveArchitecture, type ArchitectureConfig } from '../src/models/registry.js';
import { getRun } from './studio/store.js';
import type { RgbImage } from '../src/preprocess/image.js';
import type { WebBackend } from '../src/runtime/web.js';
import { InferenceWorker } from './client.js';
import type { AttentionMap, AttentionResult, BenchResult, BlockInfo, ClassifyResult, DemoKind, LoadResult } from './protocol.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const CAPTIONS: Record<DemoKind, string> = {
  focused_dwc: 'focused linear + DWC',
  focused: 'focused linear (no DWC)',
  linear: 'plain linear',
  softmax: 'softmax',
};
const CUSTOM = 'custom: a config.json…';
/** `?threads=N` sets the WASM thread count (default: up to 4 when the page is cross-origin isolated). */
const THREADS = Number(new URLSearchParams(location.search).get('threads')) || undefined;

/** What the page knows; exposed as `window.flattenDemo` for the end-to-end test. */
const state = {
  model: null as LoadResult | null,
  classification: null as ClassifyResult | null,
  attention: null as AttentionResult | null,
  error: null as string | null,
  /** Pieces of work in progress, and finished so far (the test waits on these). */
  busy: 0,
  done: 0,
};

let worker = new InferenceWorker();
let config: { arch: ArchitectureConfig; name: string } | null = null;
let checkpoint: { source: Blob | string; name: string } | null = null;
let image: { blob: Blob; name: string } | null = null;
let click: { x: number; y: number } | null = null;

function setBusy(delta: number): void {
  state.busy += delta;
  document.body.dataset.state = state.busy > 0 ? 'busy' : state.error ? 'error' : 'idle';
}

function showError(message: string | null): void {
  state.error = message;
  const el = $('error');
  el.hidden = message === null;
  el.textContent = message ?? '';
  setBusy(0);
}

function showNotice(message: string | undefined): void {
  const el = $('notice');
  el.hidden = !message;
  el.textContent = message ?? '';
}

/** Runs one piece of work with the busy state, turning any failure into the error line. */
async function task<T>(work: () => Promise<T>): Promise<T | undefined> {
  setBusy(1);
  try {
    const out = await work();
    showError(null);
    return out;
  } catch (e) {
    showError((e as Error).message);
    return undefined;
  } finally {
    state.done++;
    setBusy(-1);
  }
}

function progress(p: { phase: string; done: number; total: number }): void {
  $('progress-row').hidden = false;
  const bar = $<HTMLProgressElement>('progress');
  const text = $('progress-text');
  if (p.phase === 'reading' && p.total > 0) {
    bar.value = p.done / p.total;
    text.textContent = `reading ${(p.done / 2 ** 20).toFixed(1)} / ${(p.total / 2 ** 20).toFixed(1)} MiB`;
  } else {
    bar.removeAttribute('value');
    text.textContent = p.phase === 'reading' ? `reading ${(p.done / 2 ** 20).toFixed(1)} MiB` : `${p.phase}…`;
  }
}

function archSpec(): string | ArchitectureConfig | null {
  const value = $<HTMLSelectElement>('arch').value;
  if (value !== CUSTOM) return value;
  return config?.arch ?? null;
}

async function loadModel(): Promise<void> {
  if (!checkpoint) return;
  const arch = archSpec();
  if (!arch) return showError('choose a config.json for the custom architecture');
  state.model = null;
  state.classification = null;
  state.attention = null;
  $('model-info').textContent = '';
  $('top5').replaceChildren();
  $('maps').replaceChildren();
  const backend = $<HTMLSelectElement>('backend-select').value as WebBackend | 'auto';
  const result = await task(() =>
    worker.request<LoadResult>(
      { type: 'load', arch, checkpoint: checkpoint!.source, name: checkpoint!.name, backend, threads: THREADS },
      progress,
    ),
  );
  $('progress-row').hidden = true;
  if (!result) {
    $('backend').textContent = 'no model';
    return;
  }
  state.model = result;
  showNotice([result.notice, ...result.warnings].filter(Boolean).join('; ') || undefined);
  $('backend').textContent =
    `${result.backend === 'webgpu' ? `WebGPU${result.adapter ? ` (${result.adapter})` : ''}` : `WASM, ${result.threads} thread${result.threads === 1 ? '' : 's'}`}`;
  $('model-info').textContent =
    `${result.name}: ${(result.params / 1e6).toFixed(2)}M parameters, ${result.inputSize}×${result.inputSize} input, from ${checkpoint.name}`;
  fillLayers(result.blocks);
  if (image) await classify();
}

function fillLayers(blocks: BlockInfo[]): void {
  const layer = $<HTMLSelectElement>('layer');
  layer.replaceChildren(
    ...blocks.map(
      (b, i) => new Option(`stage ${b.stage}, block ${b.block} (${b.kind === 'focused' ? 'focused linear' : 'softmax'})`, String(i)),
    ),
  );
  fillHeads();
}

function selectedBlock(): BlockInfo | null {
  const blocks = state.model?.blocks ?? [];
  return blocks[Number($<HTMLSelectElement>('layer').value)] ?? null;
}

function fillHeads(): void {
  const b = selectedBlock();
  $<HTMLSelectElement>('head').replaceChildren(...Array.from({ length: b?.heads ?? 0 }, (_, h) => new Option(String(h), String(h))));
}

function drawTo(canvas: HTMLCanvasElement, img: RgbImage): void {
  canvas.width = img.width;
  canvas.height = img.height;
  const rgba = new ImageData(img.width, img.height);
  for (let i = 0; i < img.width * img.height; i++) {
    rgba.data.set(img.data.subarray(i * 3, i * 3 + 3), i * 4);
    rgba.data[i * 4 + 3] = 255;
  }
  canvas.getContext('2d')!.putImageData(rgba, 0, 0);
}

function seenImage(): RgbImage | null {
  const s = state.classification?.seen;
  return s ? { width: s.width, height: s.height, data: s.data } : null;
}

async function classify(): Promise<void> {
  if (!image || !state.model) return;
  const current = image;
  const result = await task(() => worker.request<ClassifyResult>({ type: 'classify', image: current.blob, name: current.name }));
  if (!result) return;
  state.classification = result;
  state.attention = null;
  click = null;
  $('maps').replaceChildren();
  drawTo($<HTMLCanvasElement>('image-canvas'), seenImage()!);
  $('top5').replaceChildren(
    ...result.top.map((t) => {
      const li = document.createElement('li');
      li.textContent = `${t.label} — ${(t.score * 100).toFixed(1)}%`;
      const bar = document.createElement('div');
      bar.className = 'bar';
      bar.style.width = `${Math.max(1, t.score * 100)}%`;
      li.append(bar);
      return li;
    }),
  );
  $('latency').textContent = `${result.latencyMs.toFixed(1)} ms on ${$('backend').textContent}`;
}

/** Display weights as the official `visualize.py` scales them: × (keys / 196) × 10, clipped at 1. */
function displayWeights(map: AttentionMap): Float64Array {
  const gain = (map.keys / 196) * 10;
  return Float64Array.from(map.data, (v) => Math.min(1, v * gain));
}

let attentionPending = false;

/** Asks for the clicked point's attention; clicks made while one runs are merged into the latest. */
async function showAttention(): Promise<void> {
  const b = selectedBlock();
  if (!click || !b || !state.classification) return;
  if (attentionPending) return;
  attentionPending = true;
  try {
    let asked: { x: number; y: number } | null = null;
    while (click !== asked) {
      asked = click;
      const head = Number($<HTMLSelectElement>('head').value);
      const req = { type: 'attention' as const, stage: b.stage, block: b.block, head, x: asked!.x, y: asked!.y };
      const result = await task(() => worker.request<AttentionResult>(req, progress));
      $('progress-row').hidden = true;
      if (!result) return;
      state.attention = result;
      drawAttention(result);
    }
  } finally {
    attentionPending = false;
  }
}

function drawAttention(result: AttentionResult): void {
  const picture = seenImage()!;
  const { row, col, grid } = result.query;
  const marker = new Float64Array(grid[0] * grid[1]);
  marker[row * grid[1] + col] = 1;
  const canvas = $<HTMLCanvasElement>('image-canvas');
  drawTo(canvas, overlay(picture, marker, grid[0], grid[1], true));
  const ctx = canvas.getContext('2d')!;
  ctx.strokeStyle = '#ff2121';
  ctx.lineWidth = 2;
  ctx.beginPath();
  ctx.arc(((col + 0.5) * picture.width) / grid[1], ((row + 0.5) * picture.height) / grid[0], 9, 0, 2 * Math.PI);
  ctx.stroke();
  const figures = (Object.entries(result.kinds) as [DemoKind, AttentionMap][]).map(([kind, map]) => {
    const fig = document.createElement('figure');
    const canvas = document.createElement('canvas');
    canvas.dataset.kind = kind;
    drawTo(canvas, overlay(picture, displayWeights(map), map.grid[0], map.grid[1]));
    const cap = document.createElement('figcaption');
    cap.textContent = kind === 'softmax' && result.kinds.focused ? 'softmax of the same q, k' : CAPTIONS[kind];
    fig.append(canvas, cap);
    return fig;
  });
  $('maps').replaceChildren(...figures);
  $('attention-info').textContent = `token (${row}, ${col}) of the ${grid[0]}×${grid[1]} grid, ${result.latencyMs.toFixed(0)} ms`;
}

function onFiles(dropId: string, inputId: string, take: (file: File) => void): void {
  const drop = $(dropId);
  const input = $<HTMLInputElement>(inputId);
  input.addEventListener('change', () => {
    if (input.files?.[0]) take(input.files[0]);
    input.value = '';
  });
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const file = e.dataTransfer?.files[0];
    if (file) take(file);
  });
}

function setup(): void {
  const arch = $<HTMLSelectElement>('arch');
  arch.replaceChildren(...registeredNames().map((n) => new Option(n, n)), new Option(CUSTOM, CUSTOM));
  arch.value = 'flatten_pvt_t';
  arch.addEventListener('change', () => {
    if (arch.value === CUSTOM) $<HTMLInputElement>('config-file').click();
    else void loadModel();
  });
  $<HTMLInputElement>('config-file').addEventListener('change', async (e) => {
    const input = e.target as HTMLInputElement;
    const file = input.files?.[0];
    input.value = '';
    if (!file) return;
    try {
      config = { arch: JSON.parse(await file.text()) as ArchitectureConfig, name: file.name };
    } catch {
      return showError(`${file.name}: is not valid JSON; expected {"family": ..., "args": {...}}`);
    }
    arch.value = CUSTOM;
    arch.options[arch.options.length - 1].text = `custom: ${file.name}`;
    await loadModel();
  });
  $('backend-select').addEventListener('change', () => {
    // onnxruntime-web fixes its backend set-up per worker: a new backend needs a new worker.
    worker.terminate();
    worker = new InferenceWorker();
    void loadModel();
  });
  onFiles('checkpoint-drop', 'checkpoint-file', (file) => {
    checkpoint = { source: file, name: file.name };
    void loadModel();
  });
  $('url-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const url = $<HTMLInputElement>('checkpoint-url').value.trim();
    if (!url) return;
    checkpoint = { source: url, name: url.split('/').pop() || url };
    void loadModel();
  });
  onFiles('image-drop', 'image-file', (file) => {
    image = { blob: file, name: file.name };
    if (state.model) void classify();
  });
  const canvas = $<HTMLCanvasElement>('image-canvas');
  canvas.addEventListener('click', (e) => {
    const rect = canvas.getBoundingClientRect();
    click = { x: (e.clientX - rect.left) / rect.width, y: (e.clientY - rect.top) / rect.height };
    void showAttention();
  });
  $('layer').addEventListener('change', () => {
    fillHeads();
    void showAttention();
  });
  $('head').addEventListener('change', () => void showAttention());
}

/**
 * Measures WASM images/s of a registered model with random weights on `threads` threads, in a
 * worker of its own (onnxruntime-web fixes its thread count per worker).
 */
async function bench(arch: string, threads: number, seconds = 10): Promise<BenchResult> {
  const w = new InferenceWorker();
  try {
    return await w.request<BenchResult>({ type: 'bench', arch, seconds, threads });
  } finally {
    w.terminate();
  }
}

/** `?trained=1`: the model the training page trained last, from its checkpoint in browser storage. */
async function openTrained(): Promise<void> {
  const run = await getRun();
  if (!run?.checkpoint) return showError('the training page has no trained checkpoint in this browser yet');
  const base = resolveArchitecture(run.request.arch);
  config = {
    arch: { family: base.family.name, args: { ...base.args, num_classes: run.samples.classes.length } },
    name: run.request.archName,
  };
  const arch = $<HTMLSelectElement>('arch');
  arch.value = CUSTOM;
  arch.options[arch.options.length - 1].text = `trained: ${run.request.archName}`;
  checkpoint = { source: run.checkpoint, name: 'trained.pth' };
  await loadModel();
}

setup();
if (new URLSearchParams(location.search).get('trained')) void openTrained();
Object.assign(window, { flattenDemo: { state, bench } });
