/**
 * The training page: classes and their images (kept in IndexedDB), a model and a recipe, then the
 * official training step in a worker (`worker.ts`) with live progress, curves, a confusion matrix,
 * Pause / Resume / Stop, resuming after a reload, trying the model and downloading it.
 */
import { curvesSvg, stepLossSvg } from '../../src/train/curves.js';
import { isImageName, walkOrder } from '../../src/data/sample.js';
import { imageDimensions } from '../../src/preprocess/dimensions.js';
import { MAX_PIXELS } from '../../src/preprocess/image.js';
import { registeredNames, type ArchitectureConfig } from '../../src/models/registry.js';
import type { BenchResult, Event, Request, RunRecord, RunRequest, RunSamples, StepPoint } from './protocol.js';
import {
  addClass,
  addImages,
  clearRun,
  getRun,
  type ImageEntry,
  listClasses,
  listImages,
  putRun,
  removeClass,
  renameClass,
} from './store.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** The registered models small enough to train in a page: the T and B0 variants. */
const TRAINABLE = registeredNames().filter((n) => /_(t|b0)$/.test(n));
const CUSTOM = 'custom: a config.json…';

/** What the page knows; `window.flattenStudio.state` for the end-to-end test. */
const state = {
  classes: [] as { id: number; name: string; train: number; val: number }[],
  /** Files not added, and why, from the last drop or pick. */
  skipped: [] as string[],
  run: null as { status: string; epochs: number; steps: StepPoint[] } | null,
  started: null as Extract<Event, { kind: 'started' }> | null,
  epochs: [] as RunRecord['epochs'],
  downloadedBytes: [] as number[],
  gpuReads: [] as { maps: number; bytes: number }[],
  top: null as { label: string; score: number }[] | null,
  error: null as string | null,
  /** Events handled so far (the test waits on these). */
  events: 0,
  busy: 0,
  done: 0,
};

let worker: Worker | null = null;
let custom: { arch: ArchitectureConfig; name: string } | null = null;
let checkpoint: { name: string; blob: Blob } | null = null;
let recipe: { name: string; text: string } | null = null;
/** Whether the worker holds a run it can pause and resume in place. */
let live = false;

function showError(message: string | null): void {
  state.error = message;
  $('error').hidden = message === null;
  $('error').textContent = message ?? '';
}

function showNotice(message: string | null): void {
  $('notice').hidden = !message;
  $('notice').textContent = message ?? '';
}

/** Runs one piece of page work with the busy count, turning a failure into the error line. */
async function task(work: () => Promise<void>): Promise<void> {
  state.busy++;
  try {
    await work();
  } catch (e) {
    showError((e as Error).message);
  } finally {
    state.busy--;
    state.done++;
  }
}

// ---------------------------------------------------------------- classes and images

/** The samples of a run from what is stored: classes sorted by name as ImageFolder sorts them. */
async function samplesFromStore(valFraction: number): Promise<RunSamples> {
  const classes = (await listClasses()).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const images = await listImages();
  if (classes.length < 2)
    throw new Error(`training needs at least two classes; there ${classes.length === 1 ? 'is one' : 'are none'} — add classes first`);
  const explicitVal = images.some((i) => i.split === 'val');
  const train: RunSamples['train'] = [];
  const val: RunSamples['train'] = [];
  classes.forEach((c, target) => {
    const mine = images.filter((i) => i.classId === c.id);
    // in ImageFolder order, each split on its own (a name may be in both train/ and val/)
    const ordered = (split: (x: (typeof mine)[number]) => boolean) => {
      const byName = new Map(mine.filter(split).map((i) => [i.name, i]));
      return walkOrder([...byName.keys()]).map((n) => byName.get(n)!);
    };
    const inTrain = ordered((i) => i.split !== 'val');
    if (inTrain.length === 0) throw new Error(`class '${c.name}' has no training images; add some or remove the class`);
    if (explicitVal) {
      for (const i of inTrain) train.push({ path: String(i.id), target });
      for (const i of ordered((x) => x.split === 'val')) val.push({ path: String(i.id), target });
      return;
    }
    // an evenly spread fraction of each class, the same every time for the same images
    inTrain.forEach((i, k) => {
      const toVal = inTrain.length > 1 && Math.floor((k + 1) * valFraction) > Math.floor(k * valFraction);
      (toVal ? val : train).push({ path: String(i.id), target });
    });
  });
  return { classes: classes.map((c) => c.name), train, val: val.length ? val : null };
}

async function refreshClasses(): Promise<void> {
  const classes = await listClasses();
  const images = await listImages();
  let samples: RunSamples | null = null;
  try {
    samples = await samplesFromStore(Number($<HTMLSelectElement>('split').value));
  } catch {
    samples = null;
  }
  const sorted = [...classes].sort((a, b) => (a.name < b.name ? -1 : 1));
  state.classes = sorted.map((c) => {
    const target = samples?.classes.indexOf(c.name) ?? -1;
    const count = (list: RunSamples['train'] | null | undefined) => (list ?? []).filter((s) => s.target === target).length;
    return {
      id: c.id!,
      name: c.name,
      train: samples ? count(samples.train) : images.filter((i) => i.classId === c.id).length,
      val: samples ? count(samples.val) : 0,
    };
  });
  $('classes').replaceChildren(...state.classes.map(classItem));
  const total = state.classes.reduce((n, c) => n + c.train + c.val, 0);
  $('counts').textContent =
    `${state.classes.length} classes, ${total} images: ${state.classes.reduce((n, c) => n + c.train, 0)} to train on, ${state.classes.reduce((n, c) => n + c.val, 0)} to validate with`;
}

function classItem(c: (typeof state.classes)[number]): HTMLLIElement {
  const li = document.createElement('li');
  li.dataset.name = c.name;
  const name = document.createElement('input');
  name.value = c.name;
  name.className = 'class-name';
  name.addEventListener(
    'change',
    () =>
      void task(async () => {
        const n = name.value.trim();
        if (!n) throw new Error('a class needs a name');
        if (state.classes.some((x) => x.name === n && x.id !== c.id)) throw new Error(`there is already a class '${n}'`);
        await renameClass(c.id, n);
        await refreshClasses();
      }),
  );
  const count = document.createElement('span');
  count.className = 'info';
  count.textContent = `${c.train} train, ${c.val} val`;
  const pick = document.createElement('label');
  pick.className = 'link';
  pick.textContent = 'add images';
  const input = document.createElement('input');
  input.type = 'file';
  input.multiple = true;
  input.accept = 'image/png,image/jpeg';
  input.hidden = true;
  input.className = 'class-files';
  input.addEventListener(
    'change',
    () =>
      void task(async () => {
        await addFiles(
          [...(input.files ?? [])].map((f) => ({ file: f, path: f.name })),
          c.id,
        );
        input.value = '';
      }),
  );
  pick.append(input);
  const cam = document.createElement('button');
  cam.textContent = 'webcam';
  cam.addEventListener(
    'click',
    () => void task(async () => addBlobs(c.id, [{ blob: await webcamFrame(), name: `webcam-${Date.now()}.png` }], 'the webcam')),
  );
  const remove = document.createElement('button');
  remove.textContent = 'remove';
  remove.addEventListener(
    'click',
    () =>
      void task(async () => {
        await removeClass(c.id);
        await refreshClasses();
      }),
  );
  li.append(name, count, pick, cam, remove);
  li.addEventListener('dragover', (e) => e.preventDefault());
  li.addEventListener('drop', (e) => {
    e.preventDefault();
    void task(async () => addFiles(await droppedFiles(e.dataTransfer), c.id));
  });
  return li;
}

/** Why an image file cannot be used, or null: it must be a PNG or JPEG the browser decodes, within the pixel limit. */
async function unusable(file: Blob, name: string): Promise<string | null> {
  const dims = imageDimensions(new Uint8Array(await file.slice(0, 65536).arrayBuffer()));
  if (!dims) return `${name}: not a PNG or JPEG image`;
  const pixels = dims.width * dims.height;
  if (pixels > MAX_PIXELS) return `${name}: ${dims.width}×${dims.height} is more than the ${MAX_PIXELS} pixels allowed`;
  try {
    (await createImageBitmap(file)).close();
  } catch {
    return `${name}: could not be decoded`;
  }
  return null;
}

/** Adds images to a class after checking them; what is skipped is counted and named. */
async function addBlobs(
  classId: number,
  files: { blob: Blob; name: string; split?: ImageEntry['split'] }[],
  source: string,
): Promise<void> {
  const good: ImageEntry[] = [];
  const skipped: string[] = [];
  for (const f of files) {
    const why = await unusable(f.blob, f.name);
    if (why) skipped.push(why);
    else good.push({ classId, name: f.name, split: f.split ?? 'auto', blob: f.blob });
  }
  await addImages(good);
  reportSkipped(skipped, source);
  await refreshClasses();
}

function reportSkipped(skipped: string[], source: string): void {
  state.skipped = skipped;
  if (skipped.length)
    showNotice(
      `skipped ${skipped.length} file${skipped.length === 1 ? '' : 's'} from ${source}: ${skipped.slice(0, 3).join('; ')}${skipped.length > 3 ? '; …' : ''}`,
    );
}

/** Files with their paths below what was dropped or picked. */
type Picked = { file: File; path: string };

async function addFiles(files: Picked[], classId: number): Promise<void> {
  const images = files.filter((f) => isImageName(f.path));
  const others = files.filter((f) => !isImageName(f.path)).map((f) => `${f.path}: not an image file`);
  await addBlobs(
    classId,
    images.map((f) => ({ blob: f.file, name: f.path.split('/').pop()! })),
    'the drop',
  );
  if (others.length) reportSkipped([...others, ...state.skipped], 'the drop');
}

/**
 * Adds a dropped or picked folder: `<root>/<class>/…` makes one class per subfolder; `<root>/train/<class>/…`
 * and `<root>/val/<class>/…` make the classes of train/ with val/ as the validation set.
 */
async function addFolder(files: Picked[]): Promise<void> {
  const parts = files.map((f) => ({ ...f, segs: f.path.split('/').filter(Boolean) }));
  const hasSplit = parts.some((p) => p.segs[1] === 'train');
  const groups = new Map<string, { blob: Blob; name: string; split: ImageEntry['split'] }[]>();
  const skipped: string[] = [];
  for (const p of parts) {
    const [, first, second, ...rest] = p.segs;
    const split = hasSplit ? (first === 'train' || first === 'val' ? first : null) : 'auto';
    if (split === null) continue;
    const cls = hasSplit ? second : first;
    const below = hasSplit ? rest : [second, ...rest].filter((x) => x !== undefined);
    if (!cls || below.length === 0) continue;
    if (!isImageName(p.path)) {
      skipped.push(`${p.path}: not an image file`);
      continue;
    }
    const list = groups.get(cls) ?? [];
    list.push({ blob: p.file, name: below.join('/'), split });
    groups.set(cls, list);
  }
  if (groups.size === 0)
    throw new Error(
      'the folder holds no class subfolders with images; expected <folder>/<class>/<image> or <folder>/train/<class>/<image>',
    );
  const existing = new Map((await listClasses()).map((c) => [c.name, c.id!]));
  const names = [...groups.keys()].sort();
  const trainNames = new Set(parts.filter((p) => !hasSplit || p.segs[1] === 'train').map((p) => (hasSplit ? p.segs[2] : p.segs[1])));
  const orphans = names.filter((n) => hasSplit && !trainNames.has(n));
  if (orphans.length)
    throw new Error(
      `val/ has class folder(s) ${orphans.slice(0, 3).join(', ')} with no counterpart in train/; validation classes must be training classes`,
    );
  const all: string[] = [];
  for (const n of names) {
    const id = existing.get(n) ?? (await addClass(n));
    await addBlobs(id, groups.get(n)!, 'the folder');
    all.push(...state.skipped);
  }
  reportSkipped([...skipped, ...all], 'the folder');
}

/** Files of a drop, folders walked (with their paths), or the picked files. */
async function droppedFiles(dt: DataTransfer | null): Promise<Picked[]> {
  if (!dt) return [];
  const out: Picked[] = [];
  const walk = async (entry: FileSystemEntry, path: string): Promise<void> => {
    if (entry.isFile) {
      const file = await new Promise<File>((ok, fail) => (entry as FileSystemFileEntry).file(ok, fail));
      out.push({ file, path });
    } else if (entry.isDirectory) {
      const reader = (entry as FileSystemDirectoryEntry).createReader();
      for (;;) {
        const batch = await new Promise<FileSystemEntry[]>((ok, fail) => reader.readEntries(ok, fail));
        if (batch.length === 0) break;
        for (const e of batch) await walk(e, `${path}/${e.name}`);
      }
    }
  };
  const entries = [...dt.items].map((i) => i.webkitGetAsEntry()).filter((e): e is FileSystemEntry => e !== null);
  for (const e of entries) await walk(e, e.name);
  return out;
}

let stream: MediaStream | null = null;

/** One frame of the webcam as a PNG. */
async function webcamFrame(): Promise<Blob> {
  const video = $<HTMLVideoElement>('webcam');
  if (!stream) {
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240 } });
    } catch (e) {
      throw new Error(`the webcam could not be opened (${(e as Error).message}); allow the camera, or add image files`);
    }
    video.srcObject = stream;
    video.hidden = false;
    await video.play();
  }
  const canvas = document.createElement('canvas');
  canvas.width = video.videoWidth || 320;
  canvas.height = video.videoHeight || 240;
  canvas.getContext('2d')!.drawImage(video, 0, 0, canvas.width, canvas.height);
  return new Promise((ok, fail) =>
    canvas.toBlob((b) => (b ? ok(b) : fail(new Error('the webcam frame could not be encoded'))), 'image/png'),
  );
}

// ---------------------------------------------------------------- the run

function archSpec(): { arch: string | ArchitectureConfig; name: string } {
  const v = $<HTMLSelectElement>('arch').value;
  if (v !== CUSTOM) return { arch: v, name: v };
  if (!custom) throw new Error('choose a config.json for the custom architecture');
  return custom;
}

function recipeOpts(): string[] {
  const num = (id: string, key: string, integer: boolean, min: number) => {
    const raw = $<HTMLInputElement>(id).value.trim();
    const v = Number(raw);
    if (!Number.isFinite(v) || v < min || (integer && !Number.isInteger(v)))
      throw new Error(`${key} must be ${integer ? 'a whole number' : 'a number'} ≥ ${min}, found '${raw}'`);
    return [key, raw];
  };
  return [
    ...num('epochs', 'TRAIN.EPOCHS', true, 1),
    ...num('batch', 'DATA.BATCH_SIZE', true, 1),
    ...num('lr', 'TRAIN.BASE_LR', false, 0),
    ...num('warmup', 'TRAIN.WARMUP_EPOCHS', false, 0),
  ];
}

function newWorker(): Worker {
  worker?.terminate();
  const w = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'flatten-vit-train' });
  w.onmessage = (e: MessageEvent<Event>) => onEvent(e.data);
  w.onerror = (e) => {
    showError(`the training worker failed: ${e.message}`);
    setRunning(false);
  };
  worker = w;
  return w;
}

const send = (r: Request) => (worker ?? newWorker()).postMessage(r);

function setRunning(running: boolean, paused = false): void {
  live = running;
  document.body.dataset.state = running ? (paused ? 'paused' : 'training') : 'idle';
  $<HTMLButtonElement>('start-run').disabled = running;
  $<HTMLButtonElement>('pause-run').disabled = !running || paused;
  $<HTMLButtonElement>('stop-run').disabled = !running;
}

async function startRun(): Promise<void> {
  showError(null);
  const { arch, name } = archSpec();
  const samples = await samplesFromStore(Number($<HTMLSelectElement>('split').value));
  const request: RunRequest = {
    arch,
    archName: name,
    opts: recipeOpts(),
    recipe,
    seed: Number($<HTMLInputElement>('seed').value) || 0,
    freeze: $<HTMLSelectElement>('freeze').value,
    emaDecay: $<HTMLInputElement>('ema').checked ? 0.9999 : null,
    backend: $<HTMLSelectElement>('backend-select').value as RunRequest['backend'],
    checkpoint: $<HTMLSelectElement>('start').value === 'checkpoint' ? checkpoint : null,
    augment: $<HTMLInputElement>('augment').checked,
  };
  if ($<HTMLSelectElement>('start').value === 'checkpoint' && !checkpoint) throw new Error('choose the checkpoint to start from');
  await putRun({ key: 'current', request, samples, status: 'running', checkpoint: null, at: null, steps: [], epochs: [] });
  state.epochs = [];
  state.run = { status: 'running', epochs: 0, steps: [] };
  state.downloadedBytes = [];
  state.gpuReads = [];
  setRunning(true);
  $('run-status').textContent = 'building the training graph…';
  newWorker();
  send({ type: 'start', resume: false });
}

/** Resumes a run: in place when the worker holds it paused, else from its last checkpoint in storage. */
async function resumeRun(): Promise<void> {
  showError(null);
  if (live) {
    send({ type: 'resume' });
    setRunning(true);
    $('run-status').textContent = 'training';
    return;
  }
  const run = await getRun();
  if (!run?.checkpoint) throw new Error('there is no checkpoint to resume from');
  state.run = { status: 'running', epochs: run.epochs.length, steps: [...run.steps] };
  state.epochs = [...run.epochs];
  setRunning(true);
  $('run-status').textContent =
    `resuming from the checkpoint after epoch ${run.at?.epoch ?? 0}${run.at?.stepInEpoch ? `, step ${run.at.stepInEpoch}` : ''}…`;
  newWorker();
  send({ type: 'start', resume: true });
}

let stepsTotal = 0;
let chartAt = 0;

function onEvent(e: Event): void {
  state.events++;
  switch (e.kind) {
    case 'started': {
      state.started = e;
      stepsTotal = e.stepsPerEpoch * e.totalEpochs;
      $('backend').textContent =
        e.backend === 'webgpu' ? `WebGPU${e.adapter ? ` (${e.adapter})` : ''}` : `WASM, ${e.threads} thread${e.threads === 1 ? '' : 's'}`;
      showNotice(
        e.notice ??
          (e.part < e.batch
            ? `the batch of ${e.batch} runs in ${e.batch / e.part} parts of ${e.part} (their gradients summed) to fit memory`
            : null),
      );
      $('run-status').textContent = 'training';
      break;
    }
    case 'step': {
      state.run?.steps.push(e.point);
      state.downloadedBytes.push(e.downloadedBytes);
      state.gpuReads.push(e.gpuReads);
      const done = (e.point.epoch - 1) * e.steps + e.point.step;
      const bar = $<HTMLProgressElement>('run-progress');
      bar.value = stepsTotal ? done / stepsTotal : 0;
      const left = stepsTotal - done;
      const eta = e.imagesPerSecond > 0 ? (left * (state.started?.batch ?? 1)) / e.imagesPerSecond : 0;
      $('run-progress-text').textContent =
        `epoch ${e.point.epoch}/${state.started?.totalEpochs}, step ${e.point.step}/${e.steps}, loss ${e.point.loss.toFixed(4)}, ${e.imagesPerSecond.toFixed(1)} images/s, ETA ${formatSeconds(eta)}`;
      if (performance.now() - chartAt > 2000) {
        chartAt = performance.now();
        void drawStepChart();
      }
      break;
    }
    case 'epoch':
      state.epochs.push(e.point);
      if (state.run) state.run.epochs = state.epochs.length;
      void drawStepChart();
      void drawEpochs();
      break;
    case 'preparing':
      $<HTMLProgressElement>('run-progress').value = e.done / e.total;
      $('run-progress-text').textContent = `features of the frozen backbone: ${e.done} of ${e.total} images`;
      break;
    case 'saved':
      for (const id of ['download-pth', 'download-safetensors', 'download-onnx']) $<HTMLButtonElement>(id).disabled = false;
      $('open-demo').hidden = false;
      break;
    case 'ended':
      if (state.run) state.run.status = e.status;
      setRunning(false);
      $<HTMLButtonElement>('resume-run').disabled = e.status !== 'stopped';
      $('run-status').textContent = e.status === 'done' ? 'done' : 'stopped; Resume continues from where it stopped';
      break;
    case 'warning':
      showNotice(e.message);
      break;
    case 'skipped':
      showNotice(`skipped ${e.count} image${e.count === 1 ? '' : 's'} that could not be used: ${e.message}`);
      break;
    case 'error':
      showError(e.message);
      if (state.run) state.run.status = 'failed';
      setRunning(false);
      void getRun().then((r) => ($<HTMLButtonElement>('resume-run').disabled = !r?.checkpoint));
      break;
    case 'classified':
      state.top = e.top;
      $('try-top').replaceChildren(
        ...e.top.map((t) => {
          const li = document.createElement('li');
          li.textContent = `${t.label} — ${(t.score * 100).toFixed(1)}%`;
          return li;
        }),
      );
      break;
    case 'exported':
      download(new Blob([e.bytes as BlobPart]), `${state.started ? 'model' : 'model'}.${e.format}`);
      break;
  }
}

const formatSeconds = (s: number) =>
  s >= 3600 ? `${(s / 3600).toFixed(1)} h` : s >= 60 ? `${Math.round(s / 60)} min` : `${Math.round(s)} s`;

async function drawStepChart(): Promise<void> {
  const steps = state.run?.steps ?? [];
  if (steps.length) $('step-chart').innerHTML = await stepLossSvg(steps.map((s, i) => ({ step: i + 1, loss: s.loss, lr: s.lr })));
}

async function drawEpochs(): Promise<void> {
  const epochs = state.epochs;
  if (!epochs.length) return;
  $('epoch-chart').innerHTML = await curvesSvg(epochs);
  const last = epochs[epochs.length - 1];
  const classes = (await getRun())?.samples.classes ?? [];
  if (!last.confusion) {
    $('confusion').replaceChildren();
    return;
  }
  const table = document.createElement('table');
  table.className = 'confusion';
  const head = document.createElement('tr');
  head.append(cell('th', 'label \\ predicted'), ...classes.map((c) => cell('th', c)), cell('th', 'accuracy'));
  table.append(head);
  last.confusion.forEach((row, i) => {
    const tr = document.createElement('tr');
    const n = row.reduce((a, b) => a + b, 0);
    tr.append(cell('th', classes[i] ?? `class ${i}`), ...row.map((v, j) => cell('td', String(v), i === j ? 'hit' : v ? 'miss' : '')));
    tr.append(cell('td', n ? `${((100 * row[i]) / n).toFixed(1)}%` : '–'));
    table.append(tr);
  });
  const caption = document.createElement('caption');
  caption.textContent = `validation after epoch ${last.epoch}: acc@1 ${last.valAcc1?.toFixed(2)}%`;
  table.prepend(caption);
  $('confusion').replaceChildren(table);
}

function cell(kind: 'td' | 'th', text: string, cls = ''): HTMLElement {
  const c = document.createElement(kind);
  c.textContent = text;
  if (cls) c.className = cls;
  return c;
}

function download(blob: Blob, name: string): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

// ---------------------------------------------------------------- set-up

async function restore(): Promise<void> {
  await refreshClasses();
  const run = await getRun();
  if (!run) return;
  state.epochs = [...run.epochs];
  state.run = { status: run.status, epochs: run.epochs.length, steps: [...run.steps] };
  const resumable = run.status !== 'done' && run.checkpoint !== null;
  $<HTMLButtonElement>('resume-run').disabled = !resumable;
  if (run.checkpoint) {
    for (const id of ['download-pth', 'download-safetensors', 'download-onnx']) $<HTMLButtonElement>(id).disabled = false;
    $('open-demo').hidden = false;
  }
  $('run-status').textContent = resumable
    ? `a run of ${run.request.archName} was ${run.status === 'failed' ? 'stopped by an error' : 'interrupted'} after epoch ${run.at?.epoch ?? 0}${run.at?.stepInEpoch ? `, step ${run.at.stepInEpoch}` : ''}: Resume continues it from its checkpoint`
    : `last run: ${run.request.archName}, ${run.status}`;
  if (run.error) showError(run.error);
  await drawStepChart();
  await drawEpochs();
}

function setup(): void {
  const arch = $<HTMLSelectElement>('arch');
  arch.replaceChildren(...TRAINABLE.map((n) => new Option(n, n)), new Option(CUSTOM, CUSTOM));
  arch.value = 'flatten_pvt_v2_b0';
  arch.addEventListener('change', () => {
    if (arch.value === CUSTOM) $<HTMLInputElement>('config-file').click();
  });
  $<HTMLInputElement>('config-file').addEventListener(
    'change',
    (e) =>
      void task(async () => {
        const input = e.target as HTMLInputElement;
        const file = input.files?.[0];
        input.value = '';
        if (!file) return;
        try {
          custom = { arch: JSON.parse(await file.text()) as ArchitectureConfig, name: file.name };
        } catch {
          throw new Error(`${file.name}: is not valid JSON; expected {"family": ..., "args": {...}}`);
        }
        arch.value = CUSTOM;
        arch.options[arch.options.length - 1].text = `custom: ${file.name}`;
      }),
  );
  $('start').addEventListener('change', () => {
    if ($<HTMLSelectElement>('start').value === 'checkpoint') $<HTMLInputElement>('checkpoint-file').click();
  });
  $<HTMLInputElement>('checkpoint-file').addEventListener('change', (e) => {
    const input = e.target as HTMLInputElement;
    const file = input.files?.[0];
    if (!file) return;
    checkpoint = { name: file.name, blob: file };
    $<HTMLSelectElement>('start').value = 'checkpoint';
    $('checkpoint-name').textContent = file.name;
  });
  $<HTMLInputElement>('recipe-file').addEventListener(
    'change',
    (e) =>
      void task(async () => {
        const input = e.target as HTMLInputElement;
        const file = input.files?.[0];
        if (!file) return;
        recipe = { name: file.name, text: await file.text() };
        $('recipe-name').textContent = `${file.name} (its keys first, then the fields above)`;
      }),
  );
  $('add-class').addEventListener(
    'click',
    () =>
      void task(async () => {
        const input = $<HTMLInputElement>('new-class');
        const name = input.value.trim();
        if (!name) throw new Error('type a name for the class');
        if (state.classes.some((c) => c.name === name)) throw new Error(`there is already a class '${name}'`);
        await addClass(name);
        input.value = '';
        await refreshClasses();
      }),
  );
  $('split').addEventListener('change', () => void task(refreshClasses));
  const folder = $<HTMLInputElement>('folder-file');
  folder.addEventListener(
    'change',
    () =>
      void task(async () => {
        await addFolder([...(folder.files ?? [])].map((f) => ({ file: f, path: f.webkitRelativePath || f.name })));
        folder.value = '';
      }),
  );
  const drop = $('folder-drop');
  drop.addEventListener('dragover', (e) => e.preventDefault());
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    void task(async () => addFolder(await droppedFiles(e.dataTransfer)));
  });
  $('start-run').addEventListener('click', () => void task(startRun));
  $('pause-run').addEventListener('click', () => {
    send({ type: 'pause' });
    setRunning(true, true);
    $<HTMLButtonElement>('resume-run').disabled = false;
    $('run-status').textContent = 'paused before the next step';
  });
  $('resume-run').addEventListener('click', () => void task(resumeRun));
  $('stop-run').addEventListener('click', () => {
    send({ type: 'stop' });
    $('run-status').textContent = 'stopping after this step, then saving…';
  });
  const tryImage = (blob: Blob, name: string) => send({ type: 'classify', image: blob, name });
  const tryFile = $<HTMLInputElement>('try-file');
  tryFile.addEventListener('change', () => {
    const f = tryFile.files?.[0];
    if (f) tryImage(f, f.name);
    tryFile.value = '';
  });
  $('try-drop').addEventListener('dragover', (e) => e.preventDefault());
  $('try-drop').addEventListener('drop', (e) => {
    e.preventDefault();
    const f = e.dataTransfer?.files[0];
    if (f) tryImage(f, f.name);
  });
  $('try-webcam').addEventListener('click', () => void task(async () => tryImage(await webcamFrame(), 'webcam')));
  $('download-pth').addEventListener(
    'click',
    () =>
      void task(async () => {
        const run = await getRun();
        if (run?.checkpoint) download(run.checkpoint, `${run.request.archName.replace(/\.json$/, '')}-trained.pth`);
      }),
  );
  $('download-safetensors').addEventListener('click', () => send({ type: 'export', format: 'safetensors' }));
  $('download-onnx').addEventListener('click', () => send({ type: 'export', format: 'onnx' }));
  void task(restore);
}

/** Times training in a worker of its own (`npm run bench:web-train` calls this). */
function benchTrain(r: Omit<Extract<Request, { type: 'bench' }>, 'type'>): Promise<BenchResult> {
  const w = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'flatten-vit-bench' });
  return new Promise<BenchResult>((resolve, reject) => {
    w.onmessage = (e: MessageEvent<Event>) => {
      if (e.data.kind === 'bench') resolve(e.data.result);
      else if (e.data.kind === 'error') reject(new Error(e.data.message));
    };
    w.onerror = (e) => reject(new Error(e.message));
    w.postMessage({ ...r, type: 'bench' } satisfies Request);
  }).finally(() => w.terminate());
}

setup();
Object.assign(window, { flattenStudio: { state, clearRun, benchTrain } });
