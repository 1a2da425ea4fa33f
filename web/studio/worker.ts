/**
 * The training page's worker: runs the official training step with `WebTrainer` on the images and
 * the run kept in storage (store.ts), so the page stays responsive. Every step, epoch and checkpoint
 * is reported to the page as an event and written to the run record, so a reload resumes where the
 * last checkpoint left off.
 */
import { parse } from 'yaml';
import {
  decodeImage,
  defineModel,
  encodeSafetensors,
  evalTransform,
  exportOnnx,
  FlattenError,
  MemorySource,
  readCheckpoint,
  resolveArchitecture,
  topK,
  WebModel,
  WebTrainer,
} from '../../src/web/index.js';
import { gemmRate } from '../../src/bench/gemm.js';
import { countMacs } from '../../src/graph/macs.js';
import { createWebSession } from '../../src/runtime/web.js';
import type { Event, Request, RunRecord } from './protocol.js';
import { getRun, imageBytes, updateRun } from './store.js';

const post = (e: Event, transfer: Transferable[] = []) => self.postMessage(e, { transfer });

/**
 * Every read of GPU memory, counted where WebGPU performs it (GPUBuffer.mapAsync for reading), apart
 * from what onnxruntime's wrapper counts: the page shows it, and the end-to-end test holds it to the
 * loss and gradient norm per step.
 */
const gpuReads = { maps: 0, bytes: 0 };
type Mappable = { mapAsync(mode: number, offset?: number, size?: number): Promise<void>; size: number };
const gpuBuffer = (globalThis as unknown as { GPUBuffer?: { prototype: Mappable } }).GPUBuffer;
if (gpuBuffer) {
  const map = gpuBuffer.prototype.mapAsync;
  gpuBuffer.prototype.mapAsync = function (this: Mappable, mode: number, offset?: number, size?: number) {
    if (mode & 1) {
      gpuReads.maps++;
      gpuReads.bytes += size ?? this.size - (offset ?? 0);
    }
    return map.call(this, mode, offset, size);
  };
}

/** One line for the page: flatten-vit's own message, or the first line of anything else. */
function message(e: unknown): string {
  if (e instanceof FlattenError) return e.message;
  const text = e instanceof Error ? e.message : String(e);
  if (/out of memory|bad_alloc|allocation failed|Device lost|GPUDevice/i.test(text))
    return `the device ran out of memory or was lost (${text.split('\n')[0]}); the last checkpoint is kept — resume with a smaller batch`;
  return `unexpected error: ${text.split('\n')[0]}`;
}

let trainer: WebTrainer | null = null;
/** Pause and Stop asked for while the trainer is being built apply as soon as it exists. */
const asked = { pause: false, stop: false };
/** The model the Try panel classifies with, built from the checkpoint it was made from. */
let tryModel: { checkpoint: Blob; model: WebModel } | null = null;

/** The config overrides of a run: the recipe's keys, the page's fields, then what augmentation off and a linear probe turn off. */
function optsOf(run: RunRecord): string[] {
  const docs: string[] = [];
  if (run.request.recipe) {
    const doc = parse(run.request.recipe.text) as unknown;
    if (doc !== null && (typeof doc !== 'object' || Array.isArray(doc)))
      throw new FlattenError('input', `${run.request.recipe.name}: expected a mapping of official config keys`);
    const flat = (node: Record<string, unknown>, prefix: string): void => {
      for (const [k, v] of Object.entries(node)) {
        if (k === 'BASE') continue;
        const key = prefix ? `${prefix}.${k}` : k;
        if (v !== null && typeof v === 'object' && !Array.isArray(v)) flat(v as Record<string, unknown>, key);
        else docs.push(key, JSON.stringify(v));
      }
    };
    if (doc) flat(doc as Record<string, unknown>, '');
  }
  const off = run.request.augment
    ? []
    : ['AUG.AUTO_AUGMENT', 'none', 'AUG.COLOR_JITTER', '0', 'AUG.REPROB', '0', 'AUG.MIXUP', '0', 'AUG.CUTMIX', '0'];
  // a linear probe reads the frozen backbone as it is, without stochastic depth
  const probe = run.request.freeze === 'backbone' ? ['MODEL.DROP_PATH_RATE', '0'] : [];
  return [...docs, ...run.request.opts, ...off, ...probe];
}

async function start(resume: boolean): Promise<void> {
  asked.pause = false;
  asked.stop = false;
  const run = await getRun();
  if (!run) throw new FlattenError('usage', 'no run is set up; add classes and images, then Start');
  if (resume && !run.checkpoint) throw new FlattenError('usage', 'the run has no checkpoint yet to resume from; start it again');
  await trainer?.release();
  trainer = null;
  const { request: r, samples } = run;
  let skipped = 0;
  const from = resume
    ? { kind: 'resume' as const, bytes: new Uint8Array(await run.checkpoint!.arrayBuffer()), name: 'last.pth' }
    : r.checkpoint
      ? { kind: 'checkpoint' as const, bytes: new Uint8Array(await r.checkpoint.blob.arrayBuffer()), name: r.checkpoint.name }
      : { kind: 'scratch' as const };
  const t = await WebTrainer.create({
    arch: r.arch,
    classes: samples.classes,
    train: samples.train,
    val: samples.val,
    read: (key) => imageBytes(Number(key)),
    opts: optsOf(run),
    emaDecay: r.emaDecay,
    start: from,
    ...(r.freeze !== 'full' ? { freeze: r.freeze } : {}),
    seed: r.seed,
    backend: r.backend,
    augment: r.augment,
    onWarning: (m) => post({ kind: 'warning', message: m }),
    onSkip: (reason) => post({ kind: 'skipped', count: ++skipped, message: reason }),
    onPrepare: (done, total) => post({ kind: 'preparing', done, total }),
  });
  trainer = t;
  if (asked.stop) t.stop();
  else if (asked.pause) t.pause();
  const info = t.info;
  post({
    kind: 'started',
    backend: info.runtime.backend,
    threads: info.runtime.threads,
    ...(info.runtime.adapter ? { adapter: info.runtime.adapter } : {}),
    ...(info.runtime.notice ? { notice: info.runtime.notice } : {}),
    batch: info.batch,
    part: info.part,
    stepsPerEpoch: info.stepsPerEpoch,
    totalEpochs: info.totalEpochs,
    startEpoch: info.startEpoch,
    startStep: info.startStep,
  });
  await updateRun((rec) => {
    rec.status = 'running';
    delete rec.error;
    // a resumed run redoes what came after its checkpoint: the history goes back to it as well
    const at = resume ? (rec.at ?? { epoch: 0, stepInEpoch: 0 }) : { epoch: 0, stepInEpoch: 0 };
    rec.steps = resume ? rec.steps.filter((s) => s.epoch - 1 < at.epoch || (s.epoch - 1 === at.epoch && s.step <= at.stepInEpoch)) : [];
    rec.epochs = resume ? rec.epochs.filter((e) => e.epoch <= at.epoch) : [];
  });
  let losses: number[] = [];
  let lastLr = 0;
  let window = { t: performance.now(), images: 0 };
  let pendingSteps: RunRecord['steps'] = [];
  const result = await t.run({
    onStep: (rec, steps) => {
      losses.push(rec.loss);
      lastLr = rec.lr;
      window.images += info.batch;
      const now = performance.now();
      const point = { epoch: rec.epoch + 1, step: rec.step + 1, loss: rec.loss, lr: rec.lr, gradNorm: rec.gradNorm };
      pendingSteps.push(point);
      post({
        kind: 'step',
        point,
        steps,
        imagesPerSecond: (window.images * 1000) / Math.max(1, now - window.t),
        downloadedBytes: t.downloadedBytes,
        gpuReads: { ...gpuReads },
      });
    },
    onEpoch: async (e) => {
      const point = {
        epoch: e.epoch,
        trainLoss: losses.reduce((a, b) => a + b, 0) / Math.max(1, losses.length),
        lr: lastLr,
        valLoss: e.val?.loss ?? null,
        valAcc1: e.val?.acc1 ?? null,
        valAcc5: e.val?.acc5 ?? null,
        confusion: e.val ? e.val.confusion.map((row) => [...row]) : null,
        seconds: e.seconds,
      };
      losses = [];
      window = { t: performance.now(), images: 0 };
      await updateRun((rec) => rec.epochs.push(point));
      post({ kind: 'epoch', point });
    },
    onCheckpoint: async (pth, at) => {
      const steps = pendingSteps;
      pendingSteps = [];
      await updateRun((rec) => {
        rec.checkpoint = pth;
        rec.at = { epoch: at.epoch, stepInEpoch: at.stepInEpoch };
        rec.steps.push(...steps);
      });
      post({ kind: 'saved', epoch: at.epoch, stepInEpoch: at.stepInEpoch });
    },
  });
  const status = result.stopped ? 'stopped' : 'done';
  await updateRun((rec) => (rec.status = status));
  post({ kind: 'ended', status });
}

/** The top-5 of an image under the run's last checkpoint, with the run's class names. */
async function classify(image: Blob, name: string): Promise<void> {
  const run = await getRun();
  if (!run?.checkpoint) throw new FlattenError('usage', 'no trained checkpoint yet: train at least one epoch first');
  if (tryModel?.checkpoint !== run.checkpoint) {
    await tryModel?.model.dispose();
    const arch = {
      family: resolveArchitecture(run.request.arch).family.name,
      args: { ...resolveArchitecture(run.request.arch).args, num_classes: run.samples.classes.length },
    };
    tryModel = {
      checkpoint: run.checkpoint,
      model: await WebModel.load(arch, run.checkpoint, { backend: 'wasm', name: 'last.pth' }),
    };
  }
  const size = tryModel.model.inputShape[1];
  const x = evalTransform(decodeImage(new Uint8Array(await image.arrayBuffer()), name), { size });
  const { logits } = await tryModel.model.predict(x);
  post({ kind: 'classified', top: topK(logits.data, Math.min(5, run.samples.classes.length), run.samples.classes) });
}

/** The last checkpoint's weights as safetensors or ONNX. */
async function exportAs(format: 'safetensors' | 'onnx'): Promise<void> {
  const run = await getRun();
  if (!run?.checkpoint) throw new FlattenError('usage', 'no trained checkpoint yet: train at least one epoch first');
  const sd = readCheckpoint(new MemorySource(new Uint8Array(await run.checkpoint.arrayBuffer()), 'last.pth'));
  try {
    let bytes: Uint8Array;
    if (format === 'safetensors')
      bytes = encodeSafetensors(new Map([...sd.tensors].map(([k, t]) => [k, { shape: t.shape, data: t.read() }])));
    else {
      const base = resolveArchitecture(run.request.arch);
      const def = defineModel(
        resolveArchitecture({ family: base.family.name, args: { ...base.args, num_classes: run.samples.classes.length } }),
      );
      bytes = exportOnnx(def, sd, [], undefined, { classes: JSON.stringify(run.samples.classes) });
    }
    post({ kind: 'exported', format, bytes }, [bytes.buffer as ArrayBuffer]);
  } finally {
    sd.close();
  }
}

/** A synthetic image: `k`'s class colour and a square at a place drawn from `k`. */
async function syntheticPng(k: number, classes: number): Promise<Uint8Array> {
  const c = new OffscreenCanvas(256, 256);
  const g = c.getContext('2d')!;
  g.fillStyle = `hsl(${(360 * (k % classes)) / classes}, 60%, 50%)`;
  g.fillRect(0, 0, 256, 256);
  g.fillStyle = '#fff';
  g.fillRect((k * 37) % 200, (k * 53) % 200, 56, 56);
  return new Uint8Array(await (await c.convertToBlob({ type: 'image/png' })).arrayBuffer());
}

/** Times a run on synthetic images with fresh weights. */
async function bench(r: Extract<Request, { type: 'bench' }>): Promise<void> {
  const classes = ['a', 'b', 'c', 'd'];
  const images = await Promise.all(Array.from({ length: r.images }, (_, k) => syntheticPng(k, classes.length)));
  const samples = images.map((_, k) => ({ path: String(k), target: k % classes.length }));
  const t0 = performance.now();
  let prepared = t0;
  const t = await WebTrainer.create({
    arch: r.arch,
    classes,
    train: samples,
    val: null,
    read: (key) => Promise.resolve(images[Number(key)]),
    opts: ['DATA.BATCH_SIZE', String(r.batch), 'TRAIN.EPOCHS', String(r.epochs), ...(r.probe ? ['MODEL.DROP_PATH_RATE', '0'] : [])],
    backend: r.backend,
    threads: r.threads,
    augment: !r.probe,
    ...(r.part ? { part: r.part } : {}),
    ...(r.probe ? { freeze: 'backbone' } : {}),
    onPrepare: () => (prepared = performance.now()),
  });
  const stepMs: number[] = [];
  let last = performance.now();
  try {
    await t.run({
      onStep: () => {
        const now = performance.now();
        stepMs.push(now - last);
        last = now;
      },
      onEpoch: () => {
        last = performance.now();
      },
    });
  } finally {
    await t.release();
  }
  const timed = stepMs.slice(1).sort((a, b) => a - b);
  const median = timed.length ? timed[Math.floor(timed.length / 2)] : stepMs[0];
  const gemm = r.backend === 'wasm' ? (await gemmRate((bytes) => createWebSession(bytes, 'wasm'), 2)).gflops : 0;
  const macs = countMacs(defineModel(resolveArchitecture(r.arch)).graph);
  post({
    kind: 'bench',
    result: {
      backend: t.info.runtime.backend,
      threads: t.info.runtime.threads,
      batch: r.batch,
      part: t.info.part,
      imagesPerSecond: (r.batch * 1000) / median,
      stepMs,
      totalSeconds: (performance.now() - t0) / 1000,
      prepareSeconds: r.probe ? (prepared - t0) / 1000 : 0,
      gemmGflops: gemm,
      trainGflops: (2 * 3 * macs * r.batch) / median / 1e6,
    },
  });
}

async function handle(r: Request): Promise<void> {
  switch (r.type) {
    case 'bench':
      return bench(r);
    case 'start':
      return start(r.resume);
    case 'pause':
      asked.pause = true;
      trainer?.pause();
      await updateRun((rec) => (rec.status = 'paused'));
      return;
    case 'resume':
      asked.pause = false;
      trainer?.resume();
      await updateRun((rec) => (rec.status = 'running'));
      return;
    case 'stop':
      asked.stop = true;
      trainer?.stop();
      return;
    case 'classify':
      return classify(r.image, r.name);
    case 'export':
      return exportAs(r.format);
  }
}

/** onnxruntime-web's WASM threads are workers started from this same bundle, named `em-pthread`. */
const isOrtThread = self.name.startsWith('em-pthread');

if (!isOrtThread)
  self.onmessage = (e: MessageEvent<Request>) => {
    handle(e.data).catch(async (err) => {
      const text = message(err);
      if (e.data.type === 'start') await updateRun((rec) => ((rec.status = 'failed'), (rec.error = text))).catch(() => undefined);
      post({ kind: 'error', message: text });
    });
  };
