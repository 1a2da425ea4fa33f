/**
 * `flatten-vit serve`: an HTTP server (Fastify) that speaks the Open Inference Protocol and a simple
 * classification API, batches concurrent requests per model (see `batcher.ts`), and runs every model
 * in worker threads (see `pool.ts`), so that the event loop keeps answering health checks, deadlines
 * and new connections while models run.
 */
import { availableParallelism } from 'node:os';
import multipart from '@fastify/multipart';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import { labelOf, topK } from '../classify/topk.js';
import { oneLine } from '../util/errors.js';
import { Batcher, type BatchOutputs, QueueFull, type Ticket } from './batcher.js';
import { ServerMetrics, type Outcome } from './metrics.js';
import { ModelPool, WorkerFailure } from './pool.js';
import { baseNice, setThreadNice } from './priority.js';
import { HttpError, inferResponse, modelMetadata, parseInferRequest } from './protocol.js';
import type { ModelInfo, ServedModelSpec } from './tasks.js';
import { tryPage } from './try_page.js';

/** Options of {@link InferenceServer.start} (the `serve` command's flags). */
export interface ServeOptions {
  models: ServedModelSpec[];
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 8000; 0 picks a free port. */
  port?: number;
  /**
   * Worker threads, each with every model (default: one per core). Several single-threaded workers
   * beat one worker with every core under load: a request's HTTP work on the same cores stalls a
   * multi-threaded run at its every barrier (measured by `npm run bench:serve`).
   */
  workers?: number;
  /** onnxruntime threads per worker (default: the cores divided among the workers, so 1). */
  threads?: number;
  executionProviders?: string[];
  /** Largest batch formed, in images (default 16). */
  maxBatch?: number;
  /** Longest wait for a fuller batch, in ms (default 2; 0 takes what is queued). */
  maxDelayMs?: number;
  /** Requests each model's queue holds before answering 503 (default 256). */
  maxQueue?: number;
  /** Each request's deadline, in ms (default 30000). */
  timeoutMs?: number;
  /** How long a shutdown waits for queued and running requests, in ms (default 30000). */
  drainMs?: number;
  /** Largest request body, in bytes (default 64 MiB). */
  maxBodyBytes?: number;
  /** Most images in one `/v1/classify` request (default 64). */
  maxImages?: number;
  /** pino's level: `info` logs one line per request (default), `silent` none. */
  logLevel?: string;
  /**
   * The nice value the calling thread (the HTTP thread) takes once the workers have started (default:
   * unchanged). A negative value, e.g. -10 (what `flatten-vit serve` uses), keeps health checks and
   * refusals prompt while the models fill every core; it needs root or CAP_SYS_NICE, and without them
   * the server runs on with a line in {@link InferenceServer.warnings}. The workers keep the process's
   * own priority. Linux only (elsewhere a nice value is the whole process's).
   */
  httpNice?: number;
}

/** A running server. */
export class InferenceServer {
  private draining = false;
  private inflight = 0;
  /** The queue place each admitted request holds until it is submitted (see {@link Batcher.admit}). */
  private readonly places = new WeakMap<FastifyRequest, () => void>();
  /** What did not go as asked at start (e.g. a priority the system did not allow), one line each. */
  readonly warnings: string[] = [];

  private constructor(
    readonly app: FastifyInstance,
    readonly pool: ModelPool,
    readonly batcher: Batcher,
    readonly metrics: ServerMetrics,
    readonly models: ReadonlyMap<string, ModelInfo>,
    private readonly opts: Required<Omit<ServeOptions, 'executionProviders' | 'models' | 'httpNice'>>,
  ) {}

  /** Whether every model is loaded and warm and the server is not shutting down. */
  get ready(): boolean {
    return !this.draining;
  }

  /** The address the server listens on. */
  get url(): string {
    const a = this.app.server.address();
    if (a === null || typeof a === 'string') return String(a);
    return `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  }

  /**
   * Loads every model in every worker, runs one warm-up batch in each, and listens.
   *
   * @example
   * ```ts
   * import { InferenceServer } from './server.js'; // what `flatten-vit serve` runs
   * const server = await InferenceServer.start({ models: [{ name: 'b0', arch: 'flatten_pvt_v2_b0' }], port: 8000 });
   * // POST http://127.0.0.1:8000/v2/models/b0/infer
   * await server.shutdown();
   * ```
   */
  static async start(options: ServeOptions): Promise<InferenceServer> {
    const workers =
      options.workers ?? (options.threads ? Math.max(1, Math.floor(availableParallelism() / options.threads)) : availableParallelism());
    const opts = {
      host: options.host ?? '127.0.0.1',
      port: options.port ?? 8000,
      workers,
      threads: options.threads ?? Math.max(1, Math.floor(availableParallelism() / workers)),
      maxBatch: options.maxBatch ?? 16,
      maxDelayMs: options.maxDelayMs ?? 2,
      maxQueue: options.maxQueue ?? 256,
      timeoutMs: options.timeoutMs ?? 30_000,
      drainMs: options.drainMs ?? 30_000,
      maxBodyBytes: options.maxBodyBytes ?? 64 * 1024 * 1024,
      maxImages: options.maxImages ?? 64,
      logLevel: options.logLevel ?? 'info',
    };
    const pool = new ModelPool(
      { models: options.models, threads: opts.threads, executionProviders: options.executionProviders, nice: baseNice() },
      workers,
    );
    let infos: ModelInfo[];
    try {
      infos = await pool.describe(options.models.map((m) => m.name));
    } catch (e) {
      await pool.close();
      throw e;
    }
    const metrics = new ServerMetrics();
    const batcher = new Batcher(pool, opts, metrics);
    pool.onFree = () => batcher.pump();
    for (const info of infos) batcher.addModel(info.name, info.classes, info.featureDim);
    const app = Fastify({
      logger: { level: opts.logLevel },
      // one line per request, written when it is answered (the onResponse hook), instead of Fastify's two
      logController: new LogController({ disableRequestLogging: true }),
      bodyLimit: opts.maxBodyBytes,
    });
    const server = new InferenceServer(app, pool, batcher, metrics, new Map(infos.map((i) => [i.name, i])), opts);
    server.routes();
    try {
      await app.listen({ host: opts.host, port: opts.port });
    } catch (e) {
      await pool.close();
      throw e;
    }
    const refused = options.httpNice === undefined ? null : setThreadNice(options.httpNice);
    if (refused) server.warnings.push(refused);
    return server;
  }

  private model(name: string): ModelInfo {
    const m = this.models.get(name);
    if (!m) throw new HttpError(404, `no model '${name}'; this server has ${[...this.models.keys()].map((k) => `'${k}'`).join(', ')}`);
    return m;
  }

  private routes(): void {
    const app = this.app;
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    void app.register(multipart, {
      limits: { fileSize: this.opts.maxBodyBytes, files: this.opts.maxImages, fields: 16, parts: this.opts.maxImages + 16 },
    });

    app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
      const status = err instanceof HttpError ? err.status : (err.statusCode ?? 500);
      if (status >= 500 && !(err instanceof HttpError)) req.log.error({ err }, 'internal error');
      void reply
        .code(status)
        .headers(err instanceof HttpError ? err.headers : {})
        .send({ error: oneLine(err.message) });
    });
    app.setNotFoundHandler((req, reply) => {
      void reply.code(404).send({ error: `no route ${req.method} ${req.url.split('?')[0]}; see GET /v2 and GET /` });
    });
    app.addHook('onResponse', async (req, reply) => {
      req.log.info(
        { method: req.method, url: req.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 100) / 100 },
        'request',
      );
    });

    const health = (ok: () => boolean) => async (_req: FastifyRequest, reply: FastifyReply) => reply.code(ok() ? 200 : 400).send();
    app.get(
      '/v2/health/live',
      health(() => true),
    );
    app.get(
      '/v2/health/ready',
      health(() => this.ready),
    );
    app.get('/v2', async () => ({ name: 'flatten-vit', version: VERSION, extensions: ['classification', 'binary_tensor_data'] }));
    for (const prefix of ['/v2/models/:model', '/v2/models/:model/versions/:version']) {
      app.get<{ Params: { model: string } }>(`${prefix}/ready`, async (req, reply) => {
        this.model(req.params.model);
        return reply.code(this.ready ? 200 : 400).send();
      });
      app.get<{ Params: { model: string } }>(prefix, async (req) => modelMetadata(this.model(req.params.model)));
      app.post<{ Params: { model: string } }>(
        `${prefix}/infer`,
        { onRequest: async (req, reply) => this.admit(req, reply, req.params.model) },
        (req, reply) => this.infer(req, reply),
      );
    }
    app.post<{ Querystring: Record<string, string> }>(
      '/v1/classify',
      { onRequest: async (req, reply) => this.admit(req, reply, req.query.model ?? [...this.models.keys()][0]) },
      (req, reply) => this.classify(req, reply),
    );
    app.get('/metrics', async (_req, reply) => reply.type(this.metrics.registry.contentType).send(await this.metrics.registry.metrics()));
    app.get('/', async (_req, reply) => reply.type('text/html; charset=utf-8').send(tryPage([...this.models.keys()])));
  }

  /**
   * Admits a request or refuses it before its body is read: a full queue or a shutdown answers at
   * once, whatever the body's size. An admitted request holds a place in its model's queue until it is
   * submitted or answered.
   */
  private admit(req: FastifyRequest, reply: FastifyReply, model: string): void {
    if (this.draining) throw new HttpError(503, 'the server is shutting down; retry on another instance', { 'Retry-After': '1' });
    let release: () => void;
    try {
      release = this.batcher.admit(model);
    } catch (e) {
      if (!(e instanceof QueueFull)) throw e;
      this.metrics.finished(model, 'rejected', 0);
      throw new HttpError(503, `${e.message}; retry later`, { 'Retry-After': '1' });
    }
    this.places.set(req, release);
    reply.raw.once('close', release);
  }

  /** Gives back a request's queue place, just before it is submitted. */
  private submitting(req: FastifyRequest): void {
    this.places.get(req)?.();
  }

  /** Runs a request body's work with the request's deadline, counting it in flight and in the metrics. */
  private async handle<T>(modelName: string, reply: FastifyReply, work: (until: Deadline) => Promise<T>): Promise<T | undefined> {
    const started = performance.now();
    let outcome: Outcome = 'error';
    this.inflight++;
    const until = new Deadline(this.opts.timeoutMs, reply);
    try {
      if (this.draining) throw new HttpError(503, 'the server is shutting down; retry on another instance', { 'Retry-After': '1' });
      const result = await work(until);
      outcome = 'success';
      return result;
    } catch (e) {
      outcome = e instanceof Cancelled ? 'cancelled' : e instanceof HttpError ? outcomeOf(e.status) : 'error';
      if (e instanceof Cancelled) return undefined;
      if (e instanceof QueueFull) {
        outcome = 'rejected';
        throw new HttpError(503, `${e.message}; retry later`, { 'Retry-After': '1' });
      }
      if (e instanceof WorkerFailure)
        throw new HttpError(500, `the worker running this request stopped (${e.message}); it is being replaced, retry`);
      throw e;
    } finally {
      until.clear();
      this.inflight--;
      if (this.models.has(modelName)) this.metrics.finished(modelName, outcome, (performance.now() - started) / 1000);
    }
  }

  private async infer(req: FastifyRequest<{ Params: { model: string } }>, reply: FastifyReply): Promise<unknown> {
    const name = req.params.model;
    const out = await this.handle(name, reply, async (until) => {
      const model = this.model(name);
      const header = req.headers['inference-header-content-length'];
      const headerLength = header === undefined ? undefined : Number(header);
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const request = parseInferRequest(body, headerLength, model, this.opts.maxBatch);
      this.submitting(req);
      const outputs = await until.wait(this.batcher.submit(name, request.images, request.pixels));
      return inferResponse(model, request, outputs, (i) => labelOf(i, model.classes, model.classNames));
    });
    if (!out) return reply;
    if (out.binary.length === 0) return reply.send(out.json);
    const head = Buffer.from(JSON.stringify(out.json));
    return reply
      .header('Inference-Header-Content-Length', String(head.length))
      .type('application/octet-stream')
      .send(Buffer.concat([head, ...out.binary]));
  }

  private async classify(req: FastifyRequest<{ Querystring: Record<string, string> }>, reply: FastifyReply): Promise<unknown> {
    const name = req.query.model ?? [...this.models.keys()][0];
    const out = await this.handle(name, reply, async (until) => {
      const model = this.model(name);
      const top = req.query.top === undefined ? 5 : Number(req.query.top);
      if (!Number.isInteger(top) || top < 1) throw new HttpError(400, `top must be a positive integer, found '${req.query.top}'`);
      const exif = req.query.exif_orientation === 'true' || req.query.exif_orientation === '1';
      const images = await this.images(req);
      const results = await Promise.all(
        images.map(async ({ file, bytes }) => {
          const pixels = await until.wait(this.pool.preprocess(name, bytes, file, model.crop, exif));
          if (!(pixels instanceof Float32Array)) throw new HttpError(400, pixels.error);
          return { file, ticket: pixels };
        }),
      );
      this.submitting(req);
      return Promise.all(
        results.map(async ({ file, ticket }) => {
          const o = await until.wait(this.batcher.submit(name, 1, ticket));
          return { file, top: topK(o.logits, top, model.classNames) };
        }),
      );
    });
    return out ? reply.send(out) : reply;
  }

  /** The images of a classify request: the body itself, or every file of a multipart form. */
  private async images(req: FastifyRequest): Promise<{ file: string; bytes: Uint8Array }[]> {
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (type === 'multipart/form-data') {
      const files: { file: string; bytes: Uint8Array }[] = [];
      try {
        for await (const part of req.files()) files.push({ file: part.filename || part.fieldname, bytes: await part.toBuffer() });
      } catch (e) {
        const status = (e as { statusCode?: number }).statusCode ?? 400;
        throw new HttpError(status === 500 ? 400 : status, `the form could not be read: ${(e as Error).message}`);
      }
      if (files.length === 0) throw new HttpError(400, 'the form holds no file; send images as file fields');
      return files;
    }
    if (!(type.startsWith('image/') || type === 'application/octet-stream' || type === '')) {
      throw new HttpError(
        415,
        `expected a PNG or JPEG image (image/png, image/jpeg, application/octet-stream) or a multipart form, found ${type}`,
      );
    }
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    if (body.length === 0) throw new HttpError(400, 'the request has no image; send its bytes as the body');
    return [{ file: 'image', bytes: body }];
  }

  /**
   * Stops taking requests (503, not ready), lets queued and running ones finish within `drainMs`, and
   * closes the workers.
   */
  async shutdown(): Promise<void> {
    this.draining = true;
    const deadline = performance.now() + this.opts.drainMs;
    while ((this.inflight > 0 || this.batcher.queued > 0 || this.batcher.running > 0) && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 5));
    }
    this.batcher.close();
    await this.app.close();
    await this.pool.close();
  }
}

const VERSION = '0.1.0';

function outcomeOf(status: number): Outcome {
  if (status === 503) return 'rejected';
  if (status === 504) return 'timeout';
  if (status >= 500) return 'error';
  return 'bad_request';
}

/** The client went away: nothing is answered. */
class Cancelled extends Error {}

/**
 * A request's deadline, enforced by its own timer while it is preprocessed, queued or run: past it,
 * the request is answered 504 at once and its work forgotten. Also ends the wait when the client goes.
 */
class Deadline {
  private readonly timer: NodeJS.Timeout;
  private readonly waiters = new Set<(e: Error) => void>();
  private failed: Error | null = null;

  constructor(ms: number, reply: FastifyReply) {
    this.timer = setTimeout(() => this.fail(new HttpError(504, `the request took longer than its ${ms} ms deadline`)), ms);
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) this.fail(new Cancelled());
    });
  }

  private fail(e: Error): void {
    if (this.failed) return;
    this.failed = e;
    for (const w of this.waiters) w(e);
  }

  /** Waits for a ticket's outputs or a promise, giving the ticket up if the deadline passes first. */
  wait(work: Ticket): Promise<BatchOutputs>;
  wait<T>(work: Promise<T>): Promise<T>;
  wait<T>(work: Ticket | Promise<T>): Promise<T | BatchOutputs> {
    const ticket = work instanceof Promise ? null : work;
    const promise = ticket ? ticket.result : (work as Promise<T>);
    if (this.failed) {
      ticket?.cancel();
      return Promise.reject(this.failed);
    }
    return new Promise((resolve, reject) => {
      const onFail = (e: Error) => {
        ticket?.cancel();
        reject(e);
      };
      this.waiters.add(onFail);
      promise.then(
        (v) => {
          this.waiters.delete(onFail);
          resolve(v);
        },
        (e: Error) => {
          this.waiters.delete(onFail);
          reject(e);
        },
      );
    });
  }

  clear(): void {
    clearTimeout(this.timer);
  }
}
