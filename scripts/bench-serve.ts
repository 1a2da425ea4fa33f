/**
 * `npm run bench:serve`: `flatten-vit serve` under load on loopback, against `bench` in the same run.
 *
 *   npm run bench:serve -- [--arch flatten_pvt_v2_b0] [--seconds 30] [--rounds 3] [--threads 1] [--workers N]
 *                          [--max-batch 16] [--max-delay-ms 2] [--rate R]
 *
 * Starts the server (random weights) in its own process, then drives it with closed-loop clients (1,
 * 8 and 32 concurrent, each sending its next request when the last is answered) and an open loop at a
 * fixed rate (default 5× the 32-client throughput, with a queue of 32, to show overload), each for
 * `--seconds`. Prints throughput, p50/p99/max latency, the mean batch formed (from `/metrics`), errors
 * and refusals, and /v2/health/live's slowest answer.
 *
 * The two comparisons with `bench` are made in alternating slices (`--rounds` of each, `--seconds`
 * split between them), since a shared machine's speed drifts by a third within a minute: each load
 * slice lies between two bench slices and is compared with their mean. 1 client against batch 1 timed
 * in this process on one worker's threads (what a lone request runs on), and 32 clients against the
 * best of batches 1, 8 and 16 on all the threads; each round's ratio is printed, and the median is the
 * figure.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { benchInput } from '../src/bench/throughput.js';
import { timeRepeated } from '../src/bench/timing.js';
import { FlattenModel } from '../src/model.js';
import { defineModel } from '../src/models/define.js';
import { resolveArchitectureSpec } from '../src/models/config_file.js';
import { randomWeights } from '../src/models/init.js';
import { type Answer, LoadClient } from './load-client.js';

const { values } = parseArgs({
  options: {
    arch: { type: 'string', default: 'flatten_pvt_v2_b0' },
    seconds: { type: 'string', default: '30' },
    rounds: { type: 'string', default: '3' },
    threads: { type: 'string' },
    workers: { type: 'string' },
    'max-batch': { type: 'string', default: '16' },
    'max-delay-ms': { type: 'string', default: '2' },
    rate: { type: 'string' },
  },
});
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const slice = seconds / rounds;
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

/** The server's counters; reading them also restarts its event-loop delay record (prom-client's). */
async function metrics(url: string): Promise<{ images: number; batches: number; lagMaxMs: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const read = (name: string) => Number(new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[2] ?? 0);
  return {
    images: read('nv_inference_count'),
    batches: read('nv_inference_exec_count'),
    lagMaxMs: 1000 * read('nodejs_eventloop_lag_max_seconds'),
  };
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
  const client = new LoadClient(url);
  const send = () => client.send('POST', '/v2/models/m/infer', req.body, req.headers);
  const before = await metrics(url);
  let done = false;
  let live = 0;
  const poll = (async () => {
    while (!done) {
      live = Math.max(live, (await client.send('GET', '/v2/health/live')).ms);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const t0 = performance.now();
  const answers = await drive(send);
  const elapsed = (performance.now() - t0) / 1000;
  done = true;
  await poll;
  client.close();
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
    lag_max_ms: after.lagMaxMs,
  };
  console.log(
    `${label.padEnd(22)} ${result.images_per_s.toFixed(1).padStart(7)} img/s  p50 ${result.p50_ms.toFixed(1).padStart(6)} ms  p99 ${result.p99_ms.toFixed(1).padStart(6)} ms  max ${result.max_ms.toFixed(1).padStart(6)} ms  mean batch ${result.mean_batch.toFixed(2).padStart(5)}  errors ${errors}  refused ${refused.length}${refused.length ? ` (slowest ${result.refused_max_ms.toFixed(1)} ms)` : ''}  live ≤ ${live.toFixed(1)} ms  server's event loop delay ≤ ${after.lagMaxMs.toFixed(1)} ms`,
  );
  return result;
}

const closedLoop =
  (clients: number, forSeconds = seconds) =>
  async (send: () => Promise<Answer>) => {
    const answers: Answer[] = [];
    const end = performance.now() + forSeconds * 1000;
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
// the same model in this process, for the interleaved comparisons: one worker's threads, and all of them
const arch = values.arch!;
const weights = randomWeights(defineModel(resolveArchitectureSpec(arch)).params);
const lone = await FlattenModel.fromWeights(arch, weights, { threads });
const all = await FlattenModel.fromWeights(arch, weights, { threads: workers * threads });
const loneInput = benchInput(1, lone.inputShape);
const allInputs = [1, 8, 16].map((b) => benchInput(b, all.inputShape));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const { url, child } = await startServer([]);
const [c, h, w] = [
  3,
  ...((await (await fetch(`${url}/v2/models/m`)).json()) as { inputs: { shape: number[] }[] }).inputs[0].shape.slice(2),
];
const req = requestBody([1, c, h, w]);
const oneRounds: number[] = [];
const manyRounds: { served: number; batch: number; ratio: number }[] = [];
// each load slice sits between two bench slices, and is compared with their mean, so that a drift of
// the machine's speed during the round cancels to first order
const timeLone = async () => (await timeRepeated(() => lone.predict(loneInput), slice / 2)).medianMs;
let b1Before = await timeLone();
for (let r = 1; r <= rounds; r++) {
  const one = await measure(url, `1 client (${r}/${rounds})`, closedLoop(1, slice), req);
  const b1After = await timeLone();
  const b1 = (b1Before + b1After) / 2;
  const ratio = one.p50_ms / (1.1 * b1 + 2);
  console.log(
    `  bench batch 1 on ${threads} thread(s) before and after: ${b1Before.toFixed(1)}, ${b1After.toFixed(1)} ms; p50 / (1.1 × mean + 2 ms) = ${ratio.toFixed(3)}`,
  );
  oneRounds.push(ratio);
  b1Before = b1After;
}
await measure(url, 'closed loop, 8 clients', closedLoop(8), req);
const timeAll = async () => {
  const rates = [];
  for (const x of allInputs) rates.push((x.shape[0] * 1000) / (await timeRepeated(() => all.predict(x), slice / 6)).medianMs);
  return rates;
};
let before = await timeAll();
for (let r = 1; r <= rounds; r++) {
  const many = await measure(url, `32 clients (${r}/${rounds})`, closedLoop(32, slice), req);
  const after = await timeAll();
  // the best batch size's rate, averaged over the bench slices before and after
  const mean = before.map((b, i) => (b + after[i]) / 2);
  const best = Math.max(...mean);
  const show = (rates: number[]) => rates.map((x) => x.toFixed(1)).join(', ');
  console.log(
    `  bench on ${workers * threads} threads, b1, b8, b16 before: ${show(before)}, after: ${show(after)} img/s; served ${((100 * many.images_per_s) / best).toFixed(0)}% of the best mean (${best.toFixed(1)})`,
  );
  manyRounds.push({ served: many.images_per_s, batch: many.mean_batch, ratio: many.images_per_s / best });
  before = after;
}
child.kill('SIGTERM');

const rate = Number(values.rate ?? Math.round(5 * median(manyRounds.map((m) => m.served))));
const small = await startServer(['--max-queue', '32']);
await measure(small.url, `open loop, ${rate}/s`, openLoop(rate), req);
small.child.kill('SIGTERM');

await Promise.all([lone.dispose(), all.dispose()]);
const throughput = median(manyRounds.map((m) => m.ratio));
const latency = median(oneRounds);
console.log(
  `32 clients: ${(100 * throughput).toFixed(0)}% of bench's best throughput, median of ${rounds} rounds (target ≥ 90%), mean batch ${median(manyRounds.map((m) => m.batch)).toFixed(2)} (target > 4); ` +
    `1 client: p50 ${(100 * latency).toFixed(0)}% of bench batch 1 × 1.1 + 2 ms, median of ${rounds} rounds (target ≤ 100%)`,
);
