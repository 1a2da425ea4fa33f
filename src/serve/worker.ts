/**
 * A serving worker thread (run by piscina): it loads every served model once, with its own
 * onnxruntime session each, and then answers two kinds of task: preprocess one image (decode and the
 * official evaluation transform, so that the server's event loop never decodes) and run one batch.
 * A failure a user caused comes back as `{ error }`; anything else rejects the task.
 */
import { setPriority } from 'node:os';
import { workerData } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { preprocessFor } from '../classify/classify.js';
import { officialCrop } from '../classify/crop.js';
import { FlattenModel } from '../model.js';
import { FlattenError } from '../util/errors.js';
import type { ModelInfo, PoolSettings, WorkerResult, WorkerTask } from './tasks.js';

const settings = workerData as PoolSettings;
// a worker started after the HTTP thread raised its priority (a replacement) inherits the raise
if (settings.nice !== undefined) setPriority(settings.nice);

/** Loading starts as the thread starts, so that a replacement worker is warm before it is needed. */
const loaded: Promise<Map<string, FlattenModel>> = (async () => {
  const models = new Map<string, FlattenModel>();
  for (const m of settings.models) {
    const opts = { threads: settings.threads, executionProviders: settings.executionProviders, precision: m.precision, ema: m.ema };
    models.set(m.name, m.checkpoint ? await FlattenModel.load(m.arch, m.checkpoint, opts) : await FlattenModel.random(m.arch, opts));
  }
  return models;
})();
// a rejected load is reported by the first task; this keeps it from being an unhandled rejection
loaded.catch(() => undefined);

/** A result whose arrays are moved to the main thread rather than copied. */
function moving(value: WorkerResult, arrays: Float32Array[]): WorkerResult {
  return Piscina.move({
    [Piscina.transferableSymbol]: arrays.map((a) => a.buffer),
    [Piscina.valueSymbol]: value,
  } as unknown as ArrayBuffer) as unknown as WorkerResult;
}

async function describe(name: string, model: FlattenModel): Promise<ModelInfo> {
  // one warm-up run at batch 1, which also tells the output sizes
  const [c, h, w] = model.inputShape;
  const out = await model.predict({ shape: [1, c, h, w], data: new Float32Array(c * h * w) });
  return {
    name,
    arch: model.name,
    inputShape: [c, h, w],
    classes: out.logits.shape[1],
    featureDim: out.features.shape[1],
    classNames: model.classNames ? [...model.classNames] : undefined,
    crop: officialCrop(model),
    warnings: [...model.warnings],
  };
}

async function handle(task: WorkerTask): Promise<WorkerResult> {
  const models = await loaded;
  const model = models.get(task.model);
  if (!model) throw new Error(`internal: worker has no model ${task.model}`);
  if (task.kind === 'describe') return { kind: 'describe', info: await describe(task.model, model) };
  if (task.kind === 'preprocess') {
    try {
      const t = preprocessFor(model, task.bytes, task.source, { crop: task.crop, exifOrientation: task.exifOrientation });
      return moving({ kind: 'preprocess', pixels: t.data }, [t.data]);
    } catch (e) {
      if (e instanceof FlattenError) return { kind: 'error', error: e.message };
      throw e;
    }
  }
  const [c, h, w] = model.inputShape;
  const started = performance.now();
  const out = await model.predict({ shape: [task.images, c, h, w], data: task.pixels });
  const computeSeconds = (performance.now() - started) / 1000;
  return moving({ kind: 'batch', logits: out.logits.data, features: out.features.data, computeSeconds }, [
    out.logits.data,
    out.features.data,
  ]);
}

export default handle;
