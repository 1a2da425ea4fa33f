/**
 * `flatten-vit serve`: the models behind an HTTP server (Open Inference Protocol, `/v1/classify`,
 * Prometheus metrics), with dynamic batching, until SIGTERM or SIGINT.
 */
import { basename, extname } from 'node:path';
import { isPretrainedName } from '../../hub/download.js';
import { PRETRAINED } from '../../hub/pretrained.js';
import { InferenceServer } from '../../serve/server.js';
import type { ServedModelSpec } from '../../serve/tasks.js';
import { type Command, positiveInt, runtimeFrom, UsageError } from '../command.js';
import { resolveModelArgs } from '../model_args.js';
import { tell } from '../output.js';

/** A non-negative integer option. */
function count(v: Record<string, unknown>, name: string): number | undefined {
  const s = v[name];
  if (s === undefined) return undefined;
  const n = Number(s);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`serve: --${name} must be a whole number ≥ 0, found '${String(s)}'`);
  return n;
}

/** The name a model is served under by default: the registered name, or the config file's base name. */
function defaultName(arch: string): string {
  return arch.endsWith('.json') ? basename(arch, extname(arch)) : arch;
}

async function modelsFrom(v: Record<string, unknown>): Promise<ServedModelSpec[]> {
  const precision = v.precision === undefined ? undefined : String(v.precision);
  if (precision !== undefined && precision !== 'fp32' && precision !== 'int8') {
    throw new UsageError(`serve: --precision must be fp32 or int8, found '${precision}'`);
  }
  const common = { ema: v.ema === true, ...(precision ? { precision: precision as 'fp32' | 'int8' } : {}) };
  const models: ServedModelSpec[] = [];
  if (typeof v.arch === 'string' || typeof v.checkpoint === 'string') {
    if (typeof v.checkpoint === 'string') {
      const { arch, checkpoint } = await resolveModelArgs(v, 'serve');
      const name =
        typeof v.name === 'string' ? v.name : isPretrainedName(v.checkpoint) && !v.arch ? PRETRAINED[v.checkpoint].arch : defaultName(arch);
      models.push({ name, arch, checkpoint, ...common });
    } else {
      const arch = v.arch as string;
      models.push({ name: typeof v.name === 'string' ? v.name : defaultName(arch), arch, ...common });
    }
  }
  for (const m of (v.model as string[] | undefined) ?? []) {
    const eq = m.indexOf('=');
    if (eq <= 0) throw new UsageError(`serve: --model must be NAME=arch[:checkpoint], found '${m}'`);
    const rest = m.slice(eq + 1);
    const colon = rest.indexOf(':');
    const arch = colon < 0 ? rest : rest.slice(0, colon);
    const checkpoint = colon < 0 ? undefined : rest.slice(colon + 1);
    if (!arch) throw new UsageError(`serve: --model ${m} names no architecture`);
    const resolved = checkpoint ? await resolveModelArgs({ arch, checkpoint }, 'serve') : { arch, checkpoint: undefined };
    models.push({
      name: m.slice(0, eq),
      arch: resolved.arch,
      ...(resolved.checkpoint ? { checkpoint: resolved.checkpoint } : {}),
      ...common,
    });
  }
  if (models.length === 0) throw new UsageError('serve: give --arch (and --checkpoint), or --model NAME=arch:checkpoint');
  const names = new Set<string>();
  for (const m of models) {
    if (!/^[\w.-]+$/.test(m.name)) throw new UsageError(`serve: model name '${m.name}' may hold only letters, digits, '_', '.' and '-'`);
    if (names.has(m.name)) throw new UsageError(`serve: two models are named '${m.name}'; give one --name or another NAME=`);
    names.add(m.name);
  }
  return models;
}

export const serveCommand: Command = {
  name: 'serve',
  summary: 'serve models over HTTP (Open Inference Protocol, /v1/classify, metrics) with dynamic batching',
  usage: `flatten-vit serve --arch <name | config.json> [--checkpoint <file | pretrained name>] [--name NAME]
    [--model NAME=arch[:checkpoint] ...] [--port 8000] [--host 127.0.0.1] [--workers N] [--threads 1]
    [--max-batch 16] [--max-delay-ms 2] [--max-queue 256] [--timeout-ms 30000] [--drain-ms 30000]
    [--precision fp32|int8] [--ep cpu] [--ema] [--log-level info] [--http-nice=-10]

  --arch, --checkpoint  the model (without --checkpoint: random weights, as bench uses)
  --name          its name in the URLs (default: the registered name or the config file's base name)
  --model         another model, NAME=arch or NAME=arch:checkpoint (repeatable)
  --port, --host  where to listen (default 127.0.0.1:8000; --port 0 picks a free port)
  --workers       worker threads, each with every model (default: one per core, or the cores / --threads)
  --threads       onnxruntime threads per worker (default: the cores divided among the workers, so 1)
  --max-batch     most images per batch and per infer request (default 16)
  --max-delay-ms  longest wait for a fuller batch (default 2; 0 runs what is queued)
  --max-queue     requests each model's queue holds before answering 503 (default 256)
  --timeout-ms    each request's deadline; past it 504 (default 30000)
  --drain-ms      on SIGTERM/SIGINT, how long queued and running requests may finish (default 30000)
  --max-body-mb   largest request body (default 64)
  --max-images    most images in one /v1/classify request (default 64)
  --log-level     one JSON line per request at info (default); warn, error or silent for fewer
  --http-nice     the HTTP thread's nice value, above the models' so that health checks and refusals
                  stay prompt under overload (default -10 on Linux; needs root or CAP_SYS_NICE, else a
                  warning; 0 leaves it; Linux only)

Endpoints: GET /v2/health/live, /v2/health/ready, /v2, /v2/models/{m}, /v2/models/{m}/ready;
POST /v2/models/{m}/infer (JSON or binary tensors; pixel_values FP32 (B, 3, H, W) -> logits, features);
POST /v1/classify[?model=m&top=5] (image bytes or a multipart form); GET /metrics; GET / (a page to try it).

Example:
  npx flatten-vit serve --arch flatten_pvt_v2_b0 --checkpoint flatten_pvt_v2_b0.pth --port 8000
  curl -s --data-binary @cat.jpg -H 'Content-Type: image/jpeg' localhost:8000/v1/classify`,
  options: {
    arch: { type: 'string' },
    checkpoint: { type: 'string' },
    name: { type: 'string' },
    model: { type: 'string', multiple: true },
    port: { type: 'string' },
    host: { type: 'string' },
    workers: { type: 'string' },
    threads: { type: 'string' },
    ep: { type: 'string' },
    'max-batch': { type: 'string' },
    'max-delay-ms': { type: 'string' },
    'max-queue': { type: 'string' },
    'timeout-ms': { type: 'string' },
    'drain-ms': { type: 'string' },
    'max-body-mb': { type: 'string' },
    'max-images': { type: 'string' },
    precision: { type: 'string' },
    ema: { type: 'boolean' },
    'log-level': { type: 'string' },
    'http-nice': { type: 'string' },
  },
  async run(v) {
    const models = await modelsFrom(v);
    const port = count(v, 'port');
    if (port !== undefined && port > 65535) throw new UsageError(`serve: --port must be at most 65535, found ${port}`);
    const level = v['log-level'] === undefined ? 'info' : String(v['log-level']);
    if (!['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].includes(level)) {
      throw new UsageError(`serve: --log-level must be one of trace, debug, info, warn, error, fatal, silent; found '${level}'`);
    }
    const { threads, executionProviders } = runtimeFrom(v, 'serve');
    const maxBody = positiveInt(v, 'max-body-mb', 'serve');
    // by default only where a nice value is a thread's: elsewhere it would only earn a warning
    const nice = v['http-nice'] === undefined ? (process.platform === 'linux' ? -10 : 0) : Number(v['http-nice']);
    if (!Number.isInteger(nice) || nice < -20 || nice > 19) {
      throw new UsageError(`serve: --http-nice must be a whole number from -20 to 19, found '${String(v['http-nice'])}'`);
    }
    const server = await InferenceServer.start({
      models,
      host: typeof v.host === 'string' ? v.host : undefined,
      port,
      workers: positiveInt(v, 'workers', 'serve'),
      threads,
      executionProviders,
      maxBatch: positiveInt(v, 'max-batch', 'serve'),
      maxDelayMs: count(v, 'max-delay-ms'),
      maxQueue: positiveInt(v, 'max-queue', 'serve'),
      timeoutMs: positiveInt(v, 'timeout-ms', 'serve'),
      drainMs: count(v, 'drain-ms'),
      maxBodyBytes: maxBody === undefined ? undefined : maxBody * 1024 * 1024,
      maxImages: positiveInt(v, 'max-images', 'serve'),
      logLevel: level,
      httpNice: nice === 0 ? undefined : nice,
    });
    for (const w of server.warnings) tell(`warning: ${w}`);
    for (const m of server.models.values()) for (const w of m.warnings) tell(`warning: ${m.name}: ${w}`);
    tell(`serving ${[...server.models.keys()].join(', ')} on ${server.url} (ready; Ctrl-C or SIGTERM stops)`);
    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        tell(`${signal}: finishing queued requests, then stopping`);
        void server.shutdown().then(resolve);
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
    return 0;
  },
};
