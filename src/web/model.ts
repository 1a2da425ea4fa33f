/**
 * The browser's model: the same architectures, checkpoint reader and graph as Node's `FlattenModel`,
 * with the checkpoint read from a `File`, `Blob`, bytes or a URL and the graph run by onnxruntime-web.
 */
import type { StateDict } from '../checkpoint/lazy.js';
import { readCheckpoint } from '../checkpoint/read.js';
import { MemorySource } from '../checkpoint/source.js';
import type { Precision } from '../graph/graph.js';
import { serializeModel } from '../graph/onnx.js';
import { checkFit, memoryStateDict, ModelBase, weightLookup } from '../model_base.js';
import { defineModel } from '../models/define.js';
import { randomWeights } from '../models/init.js';
import { type ArchitectureConfig, resolveArchitecture } from '../models/registry.js';
import { configureWebRuntime, createWebSession, type WebBackend, type WebRuntimeInfo } from '../runtime/web.js';
import { FlattenError, oneLine } from '../util/errors.js';

/** A checkpoint in the browser: a picked or dropped file, a Blob, bytes, or a URL to fetch. */
export type WebCheckpoint = Blob | ArrayBuffer | Uint8Array | string;

/** What {@link WebModel.load} is doing, for a progress bar. */
export interface LoadProgress {
  phase: 'reading' | 'building' | 'starting';
  /** Bytes read so far (reading), else 0. */
  done: number;
  /** Total bytes when known (reading), else 0. */
  total: number;
}

/** Options of {@link WebModel.load}. */
export interface WebLoadOptions {
  /** `auto` (default): WebGPU when the browser has an adapter, WASM otherwise. */
  backend?: WebBackend | 'auto';
  /** WASM threads (used when the page is cross-origin isolated); default min(cores, 4). */
  threads?: number;
  /** Use the checkpoint's `state_dict_ema`. */
  ema?: boolean;
  /** Expose one block's attention inputs (`stage1.block0`), for attention maps. */
  probe?: string;
  /** `int8` linear layers (faster, approximate); default `fp32`. */
  precision?: Precision;
  /** Name of the checkpoint in messages (a File's own name is used when absent). */
  name?: string;
  /** Called as the checkpoint is read and the session created. */
  onProgress?: (p: LoadProgress) => void;
}

/** Reads a stream to the end, reporting bytes as they arrive. */
async function readStream(stream: ReadableStream<Uint8Array>, total: number, onProgress?: (p: LoadProgress) => void): Promise<Uint8Array> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let done = 0;
  for (;;) {
    const r = await reader.read();
    if (r.done) break;
    chunks.push(r.value);
    done += r.value.length;
    onProgress?.({ phase: 'reading', done, total });
  }
  const out = new Uint8Array(done);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * The bytes of a checkpoint given as a Blob, bytes or URL, with progress.
 *
 * @example
 * ```ts
 * const bytes = await readCheckpointBytes(fileInput.files[0], (p) => console.log(p.done / p.total));
 * ```
 */
export async function readCheckpointBytes(
  src: WebCheckpoint,
  onProgress?: (p: LoadProgress) => void,
  name = '<checkpoint>',
): Promise<Uint8Array> {
  if (src instanceof Uint8Array) return src;
  if (src instanceof ArrayBuffer) return new Uint8Array(src);
  if (typeof src === 'string') {
    let response: Response;
    try {
      response = await fetch(src);
    } catch (e) {
      throw new FlattenError(
        'io',
        `${src}: could not be fetched (${(e as Error).message}); check the URL and that its server allows this page (CORS)`,
      );
    }
    if (!response.ok || !response.body)
      throw new FlattenError('io', `${src}: the server answered ${response.status} ${response.statusText}; expected the checkpoint file`);
    return readStream(response.body, Number(response.headers.get('content-length') ?? 0), onProgress);
  }
  try {
    return await readStream(src.stream(), src.size, onProgress);
  } catch (e) {
    throw new FlattenError('io', `${name}: could not be read (${(e as Error).message})`);
  }
}

/** The name of a checkpoint, for messages. */
function checkpointName(src: WebCheckpoint, given?: string): string {
  if (given) return given;
  if (typeof src === 'string') return src.split('/').pop() || src;
  if (typeof File !== 'undefined' && src instanceof File) return src.name;
  return '<checkpoint>';
}

/**
 * A FLatten model in the browser: an official architecture, its weights, an onnxruntime-web session.
 *
 * @example
 * ```ts
 * import { WebModel, decodeImage, evalTransform, topK } from 'flatten-vit';
 * const model = await WebModel.load('flatten_pvt_t', file, { onProgress: (p) => bar(p) });
 * const x = evalTransform(decodeImage(new Uint8Array(await image.arrayBuffer())), { size: 224 });
 * const { logits } = await model.predict(x);
 * console.log(topK(logits.data, 5), model.runtime.backend);
 * ```
 */
export class WebModel extends ModelBase {
  private constructor(
    base: ConstructorParameters<typeof ModelBase>,
    /** The backend and threads the session runs on. */
    readonly runtime: WebRuntimeInfo,
  ) {
    super(...base);
  }

  /**
   * Builds an architecture (a registered name or `{family, args}`), maps the checkpoint onto it and
   * starts a session. Fails with one {@link FlattenError} if the file is not a checkpoint or does not
   * fit the architecture.
   */
  static async load(arch: string | ArchitectureConfig, checkpoint: WebCheckpoint, opts: WebLoadOptions = {}): Promise<WebModel> {
    const runtime = await configureWebRuntime({ backend: opts.backend, threads: opts.threads });
    const def = defineModel(resolveArchitecture(arch), { precision: opts.precision, probe: opts.probe });
    const name = checkpointName(checkpoint, opts.name);
    const bytes = await readCheckpointBytes(checkpoint, opts.onProgress, name);
    const sd = readCheckpoint(new MemorySource(bytes, name), { ema: opts.ema });
    return WebModel.start(def, sd, runtime, opts);
  }

  /**
   * A model with seeded random weights (benchmarks; no checkpoint needed).
   *
   * @example
   * ```ts
   * const model = await WebModel.random('flatten_pvt_t', { backend: 'wasm', threads: 2 });
   * ```
   */
  static async random(arch: string | ArchitectureConfig, opts: WebLoadOptions & { seed?: number } = {}): Promise<WebModel> {
    const runtime = await configureWebRuntime({ backend: opts.backend, threads: opts.threads });
    const def = defineModel(resolveArchitecture(arch), { precision: opts.precision, probe: opts.probe });
    const sd = memoryStateDict(def, randomWeights(def.params, opts.seed ?? 0), '<random>');
    return WebModel.start(def, sd, runtime, opts);
  }

  private static async start(
    def: ReturnType<typeof defineModel>,
    sd: StateDict,
    runtime: WebRuntimeInfo,
    opts: WebLoadOptions,
  ): Promise<WebModel> {
    try {
      const mapping = checkFit(def, sd, 'pick the architecture the checkpoint was trained with');
      const warnings: string[] = [];
      opts.onProgress?.({ phase: 'building', done: 0, total: 0 });
      const bytes = serializeModel(def.graph, weightLookup(sd, mapping, warnings));
      opts.onProgress?.({ phase: 'starting', done: 0, total: 0 });
      try {
        return new WebModel([def, sd, mapping, await createWebSession(bytes, runtime.backend), warnings], runtime);
      } catch (e) {
        if (runtime.backend !== 'webgpu') throw e;
        const notice = oneLine(`WebGPU could not run this model (${(e as Error).message.split('\n')[0]}), running on WASM`);
        const wasm = { backend: 'wasm' as const, threads: runtime.threads, notice };
        return new WebModel([def, sd, mapping, await createWebSession(bytes, 'wasm'), warnings], wasm);
      }
    } catch (e) {
      sd.close();
      throw e;
    }
  }
}
