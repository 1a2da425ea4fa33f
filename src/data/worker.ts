/**
 * A data worker thread: receives sample jobs, answers each with the transformed image (its buffer
 * transferred, not copied) or the reason it was skipped. Started by `SampleLoader`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadSample } from './load_sample.js';
import type { SampleJob } from './sample.js';
import type { TransformSettings } from './transforms.js';

const settings = workerData as TransformSettings;

parentPort!.on('message', (msg: { id: number; job: SampleJob }) => {
  try {
    const r = loadSample(msg.job, settings);
    if (r.ok) parentPort!.postMessage({ id: msg.id, result: r }, [r.x.buffer as ArrayBuffer]);
    else parentPort!.postMessage({ id: msg.id, result: r });
  } catch (e) {
    parentPort!.postMessage({ id: msg.id, crash: (e as Error).message });
  }
});
