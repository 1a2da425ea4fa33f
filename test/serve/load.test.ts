/**
 * The server under load, with a full-size model (flatten_pvt_v2_b0, random weights): a burst beyond
 * capacity is answered 503 at once while every accepted request is answered and health checks keep
 * answering within 100 ms; deadlines give 504 and never a late answer; a stopped worker costs only
 * its batch; SIGTERM under load through the CLI loses nothing and exits 0. The servers whose timing
 * is measured run in their own process, as deployed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { InferenceServer } from '../../src/serve/server.js';
import { REPO } from '../helpers/fixtures.js';

const MODEL = { name: 'b0', arch: 'flatten_pvt_v2_b0' };
const PIXELS = new Float32Array(3 * 224 * 224).map((_, i) => Math.sin(i * 0.01));

function request(url: string): { body: Buffer; headers: Record<string, string> } {
  const head = Buffer.from(
    JSON.stringify({
      inputs: [{ name: 'pixel_values', shape: [1, 3, 224, 224], datatype: 'FP32', parameters: { binary_data_size: PIXELS.byteLength } }],
      outputs: [{ name: 'logits', parameters: { classification: 1 } }],
    }),
  );
  void url;
  return {
    body: Buffer.concat([head, Buffer.from(PIXELS.buffer)]),
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(head.length) },
  };
}

/** Sends one infer request; resolves with its status and how long it took. */
async function infer(url: string): Promise<{ status: number; ms: number; error?: string; retryAfter: string | null }> {
  const { body, headers } = request(url);
  const t0 = performance.now();
  const r = await fetch(`${url}/v2/models/b0/infer`, { method: 'POST', body, headers });
  const ms = performance.now() - t0;
  const text = await r.text();
  return {
    status: r.status,
    ms,
    retryAfter: r.headers.get('retry-after'),
    ...(r.status === 200 ? {} : { error: JSON.parse(text).error as string }),
  };
}

/** `flatten-vit serve` in its own process (as deployed: the clients here do not share its event loop). */
async function startCli(
  args: string[],
): Promise<{ url: string; child: ChildProcess; exited: Promise<number | null>; stderr: () => string }> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(REPO, 'src', 'cli', 'bin.ts'),
      'serve',
      '--arch',
      'flatten_pvt_v2_b0',
      '--name',
      'b0',
      '--port',
      '0',
      '--threads',
      '2',
      '--log-level',
      'silent',
      ...args,
    ],
    {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /on (http:\/\/\S+) \(ready/.exec(stderr);
      if (m) resolve(m[1]);
    });
    void exited.then((code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
  });
  children.push(child);
  return { url, child, exited, stderr: () => stderr };
}

/** A metric's value from `/metrics` (0 when absent). */
async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

/** Sends requests at a fixed rate (open loop) for `ms`; resolves with every answer. */
async function openLoop(url: string, rate: number, ms: number): Promise<Awaited<ReturnType<typeof infer>>[]> {
  const sent: ReturnType<typeof infer>[] = [];
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    sent.push(infer(url));
    await new Promise((r) => setTimeout(r, Math.max(0, t0 + (sent.length * 1000) / rate - performance.now())));
  }
  return Promise.all(sent);
}

let server: InferenceServer | null = null;
afterEach(async () => {
  await server?.shutdown();
  server = null;
});

/** Polls /v2/health/live every 10 ms while `work` runs; returns the slowest answer in ms. */
async function slowestLive<T>(url: string, work: Promise<T>): Promise<{ result: T; slowest: number }> {
  let done = false;
  let slowest = 0;
  const poll = (async () => {
    while (!done) {
      const t0 = performance.now();
      const r = await fetch(`${url}/v2/health/live`);
      expect(r.status).toBe(200);
      slowest = Math.max(slowest, performance.now() - t0);
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  const result = await work;
  done = true;
  await poll;
  return { result, slowest };
}

describe('the server under load', () => {
  it('answers load beyond capacity with 503 at once, every accepted request in full, and health checks throughout', async () => {
    const { url, child } = await startCli(['--max-batch', '4', '--max-queue', '6']);
    const { result, slowest } = await slowestLive(url, openLoop(url, 150, 2000));
    const rejected = result.filter((r) => r.status === 503);
    const ok = result.filter((r) => r.status === 200);
    const worst = Math.max(...rejected.map((r) => r.ms));
    console.log(
      `[serve] ${result.length} requests at 150/s on a queue of 6: ${ok.length} answered, ${rejected.length} refused within ${worst.toFixed(1)} ms; /v2/health/live slowest ${slowest.toFixed(1)} ms`,
    );
    expect(ok.length + rejected.length).toBe(result.length);
    expect(rejected.length).toBeGreaterThan(0);
    for (const r of rejected) {
      expect(r.retryAfter).toBe('1');
      expect(r.error).toMatch(/queue of b0 is full/);
    }
    // `npm run bench:serve` measures these against 100 ms; here other test files share the 2 cores, so the bound only
    // catches an event loop that waits for a model run
    expect(worst).toBeLessThan(1000);
    expect(slowest).toBeLessThan(1000);
    child.kill('SIGKILL');
  }, 120_000);

  it('answers 504 at the deadline, never late, and serves the next request', async () => {
    const { url, child } = await startCli(['--max-batch', '2', '--timeout-ms', '100']);
    const result = await openLoop(url, 100, 1000);
    const late = result.filter((r) => r.status === 504);
    const slowest = Math.max(...result.map((r) => r.ms));
    console.log(
      `[serve] ${result.length} requests at 100/s with a 100 ms deadline: ${late.length} timed out, slowest answer ${slowest.toFixed(1)} ms`,
    );
    expect(late.length).toBeGreaterThan(0);
    for (const r of late) expect(r.error).toMatch(/longer than its 100 ms deadline/);
    expect(result.every((r) => r.status === 200 || r.status === 504)).toBe(true);
    expect(slowest).toBeLessThan(100 + 1000);
    // the server serves again once the backlog has drained; on a machine shared with other tests a
    // 100 ms deadline may still be missed by the first request, so it gets a few tries
    let next = await infer(url);
    for (let tries = 1; next.status !== 200 && tries < 10; tries++) {
      await new Promise((r) => setTimeout(r, 200));
      next = await infer(url);
    }
    expect(next.status).toBe(200);
    child.kill('SIGKILL');
  }, 120_000);

  it('replaces a worker that stops: its request gets 500, the next request succeeds', async () => {
    server = await InferenceServer.start({ models: [MODEL], port: 0, workers: 1, threads: 2, logLevel: 'silent' });
    const url = server.url;
    // stopped while it decodes a large photo (JavaScript): a thread stopped inside an onnxruntime run
    // can take the whole process down with it, as any native crash does
    const photo = PNG.sync.write(Object.assign(new PNG({ width: 3000, height: 2000 }), { data: Buffer.alloc(3000 * 2000 * 4, 7) }));
    const running = fetch(`${url}/v1/classify`, { method: 'POST', body: photo, headers: { 'content-type': 'image/png' } });
    await new Promise((r) => setTimeout(r, 60));
    await server.pool.threads[0].terminate();
    const r = await running;
    const error = ((await r.json()) as { error: string }).error;
    expect(r.status).toBe(500);
    expect(error).toMatch(/worker running this request stopped/);
    const next = await infer(url);
    console.log(`[serve] worker stopped mid-decode: ${r.status} (${error}); next request ${next.status} in ${next.ms.toFixed(0)} ms`);
    expect(next.status).toBe(200);
  }, 120_000);
});

describe('flatten-vit serve', () => {
  it('finishes every accepted request on SIGTERM under load and exits 0', async () => {
    // one worker on one thread, a request at a time: 24 requests take far longer to run than to upload,
    // so that some are still queued when the signal comes
    const { url, child, exited, stderr } = await startCli(['--max-batch', '1', '--workers', '1', '--threads', '1']);
    const requests = Array.from({ length: 24 }, () => infer(url));
    // every request accepted (queued or run) before the signal
    while ((await metric(url, 'nv_inference_pending_request_count')) + (await metric(url, 'nv_inference_count')) < 24)
      await new Promise((r) => setTimeout(r, 5));
    const queued = await metric(url, 'nv_inference_pending_request_count');
    child.kill('SIGTERM');
    const result = await Promise.all(requests);
    const code = await exited;
    console.log(
      `[serve] SIGTERM with ${queued} of 24 requests still queued: statuses ${[...new Set(result.map((r) => r.status))].join(', ')}, exit ${code}`,
    );
    expect(queued).toBeGreaterThan(0);
    expect(result.map((r) => r.status)).toEqual(result.map(() => 200));
    expect(code).toBe(0);
    expect(stderr()).toMatch(/SIGTERM: finishing queued requests/);
  }, 120_000);

  it.runIf(process.platform === 'linux')(
    'runs its HTTP thread above the model workers',
    async () => {
      const { url, child, stderr } = await startCli(['--workers', '2', '--threads', '1']);
      for (let i = 0; i < 6; i++) expect((await infer(url)).status).toBe(200);
      // each thread's nice value (field 19 of /proc/PID/task/TID/stat) and CPU time (fields 14 + 15)
      const tasks = readdirSync(`/proc/${child.pid}/task`).map((tid) => {
        const stat = readFileSync(`/proc/${child.pid}/task/${tid}/stat`, 'utf8');
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return { tid: Number(tid), cpu: Number(f[11]) + Number(f[12]), nice: Number(f[16]) };
      });
      const main = tasks.find((t) => t.tid === child.pid)!;
      const models = tasks
        .filter((t) => t !== main)
        .sort((a, b) => b.cpu - a.cpu)
        .slice(0, 2);
      console.log(
        `[serve] HTTP thread at nice ${main.nice}; the two busiest threads (the models) at ${models.map((t) => t.nice).join(', ')}`,
      );
      if (process.getuid?.() === 0) expect(main.nice).toBe(-10);
      else expect(stderr()).toMatch(/warning: the HTTP thread could not take nice -10 .*CAP_SYS_NICE/);
      for (const t of models) expect(t.nice).toBe(0);
      child.kill('SIGKILL');
    },
    120_000,
  );
});
