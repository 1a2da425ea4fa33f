/**
 * The browser runtime: onnxruntime-web sessions on WebGPU or WASM (SIMD, multi-threaded when the
 * page is cross-origin isolated). It implements the same `RuntimeSession` as Node's `session.ts`.
 * The build is `onnxruntime-web/webgpu`, whose WebGPU provider is onnxruntime's C++ one — the
 * provider onnxruntime-node runs, so Node's WebGPU tests speak for the browser's — and whose WASM
 * provider runs as fast as the default build's here (PVTv2-B0 213 against 249 ms, Swin-T 309 against
 * 366 ms at batch 1, 2 threads). Its `.wasm` file is resolved next to this module by the bundler and
 * served by the app, never fetched from a CDN.
 */
import * as ort from 'onnxruntime-web/webgpu';
import { Graph } from '../graph/graph.js';
import { serializeModel } from '../graph/onnx.js';
import type { Tensor } from '../tensor.js';
import { FlattenError } from '../util/errors.js';
import { hostStepRuntime } from './step.js';
import { type DeviceTensor, isDeviceTensor, type RuntimeSession, type StepRuntime, type StepSession } from './types.js';
import { wrapSession } from './wrap.js';

/** Where a model runs in the browser. */
export type WebBackend = 'webgpu' | 'wasm';

/** How the runtime was set up: the backend it will use, WASM threads, and why, if it fell back. */
export interface WebRuntimeInfo {
  backend: WebBackend;
  /** WASM threads (1 unless the page is cross-origin isolated). */
  threads: number;
  /** Set when the requested backend is not available here, e.g. no WebGPU. */
  notice?: string;
  /** The WebGPU adapter, as its vendor and architecture say (`google swiftshader`), on WebGPU. */
  adapter?: string;
}

interface GpuNavigator {
  gpu?: { requestAdapter(): Promise<{ info?: { vendor?: string; architecture?: string; description?: string } } | null> };
}

/**
 * The WebGPU adapter this browser offers, named by its vendor and architecture (`google swiftshader`,
 * `nvidia ampere`), or null when there is none.
 *
 * @example
 * ```ts
 * const adapter = await webGpuAdapter(); // 'google swiftshader' in headless Chromium with SwiftShader
 * ```
 */
export async function webGpuAdapter(): Promise<string | null> {
  const gpu = (globalThis.navigator as GpuNavigator | undefined)?.gpu;
  if (!gpu) return null;
  try {
    const adapter = await gpu.requestAdapter();
    if (!adapter) return null;
    const i = adapter.info ?? {};
    return [i.vendor, i.architecture].filter(Boolean).join(' ') || i.description || 'unnamed adapter';
  } catch {
    return null;
  }
}

let configured: WebRuntimeInfo | null = null;

/**
 * Sets up onnxruntime-web once per worker (its WASM thread count cannot change afterwards). `auto`
 * takes WebGPU when there is an adapter, WASM otherwise; a WebGPU request without an adapter falls
 * back to WASM with a notice.
 *
 * @example
 * ```ts
 * const info = await configureWebRuntime({ backend: 'auto', threads: 2 });
 * if (info.notice) console.warn(info.notice);
 * ```
 */
export async function configureWebRuntime(opts: { backend?: WebBackend | 'auto'; threads?: number } = {}): Promise<WebRuntimeInfo> {
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
  const cores = globalThis.navigator?.hardwareConcurrency ?? 1;
  const wanted = opts.threads ?? Math.min(cores, 4);
  const threads = isolated ? Math.max(1, wanted) : 1;
  if (configured && configured.threads !== threads) {
    throw new FlattenError(
      'usage',
      `this worker's WASM runtime already runs ${configured.threads} thread(s); start a new worker for ${threads}`,
    );
  }
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.simd = true;
  ort.env.logLevel = 'error';
  const notices: string[] = [];
  if (!isolated && wanted > 1) notices.push('the page is not cross-origin isolated (COOP/COEP headers), so WASM runs on 1 thread');
  let backend: WebBackend = 'wasm';
  const request = opts.backend ?? 'auto';
  let adapter: string | null = null;
  if (request !== 'wasm') {
    adapter = await webGpuAdapter();
    if (adapter) backend = 'webgpu';
    else notices.push(`WebGPU is not available in this browser, running on WASM (${threads} thread${threads === 1 ? '' : 's'})`);
  }
  configured = {
    backend,
    threads,
    ...(adapter && backend === 'webgpu' ? { adapter } : {}),
    ...(notices.length ? { notice: notices.join('; ') } : {}),
  };
  return configured;
}

/**
 * Creates a session from ONNX bytes on the given backend (call {@link configureWebRuntime} first).
 *
 * @example
 * ```ts
 * const s = await createWebSession(onnxBytes, 'wasm');
 * const { logits } = await s.run({ pixel_values: x });
 * ```
 */
export async function createWebSession(model: Uint8Array, backend: WebBackend): Promise<RuntimeSession> {
  const session = await ort.InferenceSession.create(model, {
    executionProviders: [backend],
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
  });
  return wrapSession(session, (data, dims) => new ort.Tensor('float32', data, dims));
}

/** A tensor in GPU memory, made by onnxruntime-web's WebGPU provider. */
class GpuTensor implements DeviceTensor {
  constructor(
    readonly tensor: ort.Tensor,
    private readonly counter: { bytes: number },
  ) {}

  get shape(): readonly number[] {
    return this.tensor.dims;
  }

  async read(): Promise<Float32Array> {
    const data = (await this.tensor.getData()) as Float32Array;
    this.counter.bytes += data.byteLength;
    return data;
  }

  dispose(): void {
    this.tensor.dispose();
  }
}

/** A one-node graph, y = x over a float vector of any length, whose output stays on the GPU: the upload. */
function uploadModel(): Uint8Array {
  const g = new Graph();
  g.output(g.input('x', [-1], 'float32', 'n'), 'y');
  return serializeModel(g, () => new Float32Array());
}

/**
 * The runtime a training run computes on in the browser. On WebGPU the outputs it is asked to keep
 * stay in GPU buffers (`preferredOutputLocation: 'gpu-buffer'`) and are fed back as they are; only
 * host outputs and reads are downloaded, and counted. On WASM everything is in memory.
 *
 * @example
 * ```ts
 * await configureWebRuntime({ backend: 'webgpu' });
 * const runtime = webStepRuntime('webgpu');
 * ```
 */
export function webStepRuntime(backend: WebBackend): StepRuntime {
  if (backend === 'wasm') return hostStepRuntime('wasm', (model) => createWebSession(model, 'wasm'), false);
  const counter = { bytes: 0 };
  let uploader: Promise<ort.InferenceSession> | null = null;
  const create = (model: Uint8Array, device: readonly string[]) =>
    ort.InferenceSession.create(model, {
      executionProviders: ['webgpu'],
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
      preferredOutputLocation: Object.fromEntries(device.map((name) => [name, 'gpu-buffer' as const])),
    });
  const feed = (t: Tensor | DeviceTensor): ort.Tensor =>
    isDeviceTensor(t) ? (t as GpuTensor).tensor : new ort.Tensor('float32', t.data, [...t.shape]);
  return {
    name: 'webgpu',
    get downloadedBytes() {
      return counter.bytes;
    },
    async createSession(model, device): Promise<StepSession> {
      const session = await create(model, device);
      return {
        async run(inputs, outputs) {
          const feeds: Record<string, ort.Tensor> = {};
          for (const [k, t] of Object.entries(inputs)) feeds[k] = feed(t);
          const out = await session.run(feeds, [...outputs.host, ...outputs.device]);
          const host: Record<string, Tensor> = {};
          for (const k of outputs.host) {
            const data = out[k].data as Float32Array;
            counter.bytes += data.byteLength;
            host[k] = { shape: out[k].dims.map(Number), data };
          }
          const kept: Record<string, DeviceTensor> = {};
          for (const k of outputs.device) kept[k] = new GpuTensor(out[k], counter);
          return { host, device: kept };
        },
        release: () => session.release(),
      };
    },
    async upload(t) {
      if (t.shape.length !== 1) throw new Error(`internal: upload takes vectors, not (${t.shape.join(', ')})`);
      uploader ??= create(uploadModel(), ['y']);
      const out = await (await uploader).run({ x: new ort.Tensor('float32', t.data, [t.data.length]) });
      return new GpuTensor(out.y, counter);
    },
  };
}
