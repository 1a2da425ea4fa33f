/**
 * `npm run bench:serve`: `flatten-vit serve` under load on loopback, against `bench` in the same run.
 *
 *   npm run bench:serve -- [--arch flatten_pvt_v2_b0] [--seconds 30] [--threads 1] [--workers N]
 *                          [--max-batch 16] [--max-delay-ms 2] [--rate R]
 *
 * Starts the server (random weights) in its own process, then drives it with closed-loop clients (1,
 * 8 and 32 concurrent, each sending its next request when the last is answered) and an open loop at a
 * fixed rate (default 5× the 32-client throughput, with a queue of 32, to show overload), each for
 * `--seconds`. Prints throughput, p50/p99/max latency, the mean batch formed (from `/metrics`), errors
 * and refusals, /v2/health/live's slowest answer, `bench`'s best throughput with the same total
 * threads, and its batch-1 latency with one worker's threads (what a lone request runs on).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { benchModel } from '../src/bench/throughput.js';

const { values } = parseArgs({
  options: {
    arch: { type: 'string', default: 'flatten_pvt_v2_b0' },
    seconds: { type: 'string', default: '30' },
    threads: { type: 'string' },
    workers: { type: 'string' },
    'max-batch': { type: 'string', default: '16' },
    'max-delay-ms': { type: 'string', default: '2' },
    rate: { type: 'string' },
  },
});
const seconds = Number(values.seconds);
const threads = Number(values.threads ?? 1);
const workers = Number(values.workers ?? Math.max(1, Math.floor(availableParallelism() / threads)));

async function startServer(extra: string[]): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'src/cli/bin.ts',
      'serve',
      '--arch',
      values.arch!,
      '--name',
      'm',
      '--port',
      '0',
      '--workers',
      String(workers),
      '--threads',
      String(threads),
      '--max-batch',
      values['max-batch']!,
      '--max-delay-ms',
      values['max-delay-ms']!,
      '--log-level',
      'silent',
      ...extra,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /on (http:\/\/\S+) \(ready/.exec(err);
      if (m) resolve(m[1]);
    });
    child.on('exit', (c) => reject(new Error(`serve exited ${c}: ${err}`)));
  });
  return { url, child };
}

function requestBody(shape: number[]): { body: Buffer; headers: Record<string, string> } {
  const pixels = new Float32Array(shape.reduce((a, b) => a * b, 1)).map((_, i) => Math.sin(i * 0.01));
  const head = Buffer.from(
    JSON.stringify({
      inputs: [{ name: 'pixel_values', shape, datatype: 'FP32', parameters: { binary_data_size: pixels.byteLength } }],
      outputs: [{ name: 'logits', parameters: { binary_data: true } }],
    }),
  );
  return {
    body: Buffer.concat([head, Buffer.from(pixels.buffer)]),
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(head.length) },
  };
}

interface Answer {
  status: number;
  ms: number;
}

async function metrics(url: string): Promise<{ images: number; batches: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const read = (name: string) => Number(new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  return { images: read('nv_inference_count'), batches: read('nv_inference_exec_count') };
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Runs `drive` while polling /v2/health/live; prints one line of figures. */
async function measure(
  url: string,
  label: string,
  drive: (send: () => Promise<Answer>) => Promise<Answer[]>,
  req: ReturnType<typeof requestBody>,
) {
  const send = async (): Promise<Answer> => {
    const t0 = performance.now();
    const r = await fetch(`${url}/v2/models/m/infer`, { method: 'POST', body: req.body, headers: req.headers });
    await r.arrayBuffer();
    return { status: r.status, ms: performance.now() - t0 };
  };
  const before = await metrics(url);
  let done = false;
  let live = 0;
  const poll = (async () => {
    while (!done) {
      const t0 = performance.now();
      await (await fetch(`${url}/v2/health/live`)).arrayBuffer();
      live = Math.max(live, performance.now() - t0);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const t0 = performance.now();
  const answers = await drive(send);
  const elapsed = (performance.now() - t0) / 1000;
  done = true;
  await poll;
  const after = await metrics(url);
  const ok = answers
    .filter((a) => a.status === 200)
    .map((a) => a.ms)
    .sort((a, b) => a - b);
  const refused = answers.filter((a) => a.status === 503);
  const errors = answers.length - ok.length - refused.length;
  const batches = after.batches - before.batches;
  const result = {
    label,
    images_per_s: ok.length / elapsed,
    p50_ms: pct(ok, 50),
    p99_ms: pct(ok, 99),
    max_ms: ok[ok.length - 1],
    mean_batch: batches > 0 ? (after.images - before.images) / batches : 0,
    errors,
    refused: refused.length,
    refused_max_ms: refused.length ? Math.max(...refused.map((a) => a.ms)) : 0,
    live_max_ms: live,
  };
  console.log(
    `${label.padEnd(22)} ${result.images_per_s.toFixed(1).padStart(7)} img/s  p50 ${result.p50_ms.toFixed(1).padStart(6)} ms  p99 ${result.p99_ms.toFixed(1).padStart(6)} ms  max ${result.max_ms.toFixed(1).padStart(6)} ms  mean batch ${result.mean_batch.toFixed(2).padStart(5)}  errors ${errors}  refused ${refused.length}${refused.length ? ` (slowest ${result.refused_max_ms.toFixed(1)} ms)` : ''}  live ≤ ${live.toFixed(1)} ms`,
  );
  return result;
}

const closedLoop = (clients: number) => async (send: () => Promise<Answer>) => {
  const answers: Answer[] = [];
  const end = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < end) answers.push(await send());
    }),
  );
  return answers;
};

const openLoop = (rate: number) => async (send: () => Promise<Answer>) => {
  const sent: Promise<Answer>[] = [];
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    sent.push(send());
    await new Promise((r) => setTimeout(r, Math.max(0, t0 + (sent.length * 1000) / rate - performance.now())));
  }
  return Promise.all(sent);
};

console.log(
  `bench:serve ${values.arch}, ${workers} worker(s) × ${threads} thread(s), max batch ${values['max-batch']}, max delay ${values['max-delay-ms']} ms, ${seconds} s each`,
);
const bench = await benchModel(values.arch!, { threads: workers * threads, batches: [1, 8, 16], seconds: Math.min(seconds, 10) });
const best = Math.max(...bench.results.map((r) => r.images_per_s));
console.log(
  `bench with the same ${workers * threads} threads: best ${best.toFixed(1)} img/s (${bench.results.map((r) => `b${r.batch} ${r.images_per_s.toFixed(1)}`).join(', ')})`,
);
// a lone request runs on one worker, with that worker's threads
const single =
  threads === workers * threads ? bench : await benchModel(values.arch!, { threads, batches: [1], seconds: Math.min(seconds, 10) });
const b1 = single.results.find((r) => r.batch === 1)!.latency_ms;
console.log(`bench with one worker's ${threads} thread(s): batch 1 ${b1.toFixed(1)} ms`);

const { url, child } = await startServer([]);
const [c, h, w] = [
  3,
  ...((await (await fetch(`${url}/v2/models/m`)).json()) as { inputs: { shape: number[] }[] }).inputs[0].shape.slice(2),
];
const req = requestBody([1, c, h, w]);
const one = await measure(url, 'closed loop, 1 client', closedLoop(1), req);
await measure(url, 'closed loop, 8 clients', closedLoop(8), req);
const many = await measure(url, 'closed loop, 32 clients', closedLoop(32), req);
child.kill('SIGTERM');

const rate = Number(values.rate ?? Math.round(5 * many.images_per_s));
const small = await startServer(['--max-queue', '32']);
await measure(small.url, `open loop, ${rate}/s`, openLoop(rate), req);
small.child.kill('SIGTERM');

console.log(
  `32 clients: ${((100 * many.images_per_s) / best).toFixed(0)}% of bench's best throughput (target ≥ 90%), mean batch ${many.mean_batch.toFixed(2)} (target > 4); ` +
    `1 client: p50 ${one.p50_ms.toFixed(1)} ms vs bench batch 1 ${b1.toFixed(1)} ms + 2 ms (target within 10%: ≤ ${(1.1 * b1 + 2).toFixed(1)} ms)`,
);
