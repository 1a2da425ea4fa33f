/**
 * The browser runtime: onnxruntime-web sessions on WebGPU or WASM (SIMD, multi-threaded when the
 * page is cross-origin isolated). It implements the same `RuntimeSession` as Node's `session.ts`.
 * onnxruntime's `.wasm` files are resolved next to this module by the bundler and served by the app,
 * never fetched from a CDN.
 */
import * as ort from 'onnxruntime-web';
import { FlattenError } from '../util/errors.js';
import type { RuntimeSession } from './types.js';
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
