/**
 * The page's side of the worker: each request becomes a promise; progress goes to a callback.
 */
import type { LoadProgress } from '../src/web/index.js';
import type { Request, Response, Result } from './protocol.js';

type Progress = Extract<Response, { kind: 'progress' }>['progress'];

/** A worker running flatten-vit, with one promise per request. */
export class InferenceWorker {
  private readonly worker: Worker;
  private next = 1;
  private readonly pending = new Map<
    number,
    { resolve: (r: Result) => void; reject: (e: Error) => void; progress?: (p: Progress) => void }
  >();

  constructor() {
    this.worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'flatten-vit' });
    this.worker.onmessage = (e: MessageEvent<Response>) => {
      const m = e.data;
      const p = this.pending.get(m.id);
      if (!p) return;
      if (m.kind === 'progress') p.progress?.(m.progress);
      else {
        this.pending.delete(m.id);
        if (m.kind === 'result') p.resolve(m.result);
        else p.reject(new Error(m.error));
      }
    };
    this.worker.onerror = (e) => {
      for (const p of this.pending.values()) p.reject(new Error(`the inference worker failed: ${e.message}`));
      this.pending.clear();
    };
  }

  /** Sends a request; the worker runs requests in the order they were sent. */
  request<T extends Result>(request: Request, progress?: (p: LoadProgress | Progress) => void): Promise<T> {
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (r: Result) => void, reject, progress });
      this.worker.postMessage({ id, request });
    });
  }

  terminate(): void {
    this.worker.terminate();
  }
}
