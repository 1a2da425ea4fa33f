/**
 * Browser benchmark (`npm run bench:web`): images/s of a model with random weights at batch 1 in
 * onnxruntime-web's WASM backend (in headless Chromium, on the built demo page, with 1 and 2
 * threads), next to onnxruntime-node's figure from the same machine.
 *
 * Options: `--arch flatten_pvt_t` (default), `--seconds 10` per measurement, `--json`.
 */
import { parseArgs } from 'node:util';
import { benchModel } from '../src/bench/throughput.js';
import { launch } from '../test/web/browser.js';
import { DIST_WEB, serve } from '../test/web/server.js';

const { values } = parseArgs({
  options: { arch: { type: 'string', default: 'flatten_pvt_t' }, seconds: { type: 'string', default: '10' }, json: { type: 'boolean' } },
});
const arch = values.arch!;
const seconds = Number(values.seconds);
const log = (s: string) => process.stderr.write(`${s}\n`);

interface Row {
  runtime: string;
  threads: number;
  images_per_s: number;
}

const rows: Row[] = [];
const server = await serve(DIST_WEB);
const browser = await launch();
try {
  const page = await browser.newPage();
  await page.goto(server.url);
  for (const threads of [1, 2]) {
    log(`onnxruntime-web WASM, ${threads} thread(s), ${seconds} s…`);
    const r = await page.evaluate(
      ([a, t, s]) =>
        (
          globalThis as unknown as {
            flattenDemo: { bench(a: string, t: number, s: number): Promise<{ imagesPerSecond: number; threads: number }> };
          }
        ).flattenDemo.bench(a, t, s),
      [arch, threads, seconds] as const,
    );
    if (r.threads !== threads) throw new Error(`the page ran ${r.threads} thread(s), not ${threads}: is it cross-origin isolated?`);
    rows.push({ runtime: 'onnxruntime-web (WASM)', threads, images_per_s: r.imagesPerSecond });
  }
} finally {
  await browser.close();
  await server.close();
}
for (const threads of [1, 2]) {
  log(`onnxruntime-node CPU, ${threads} thread(s), ${seconds} s…`);
  const report = await benchModel(arch, { threads, batches: [1], seconds });
  rows.push({ runtime: 'onnxruntime-node (CPU)', threads, images_per_s: report.results[0].images_per_s });
}

const node = (t: number) => rows.find((r) => r.runtime.startsWith('onnxruntime-node') && r.threads === t)!.images_per_s;
if (values.json) {
  console.log(
    JSON.stringify({ arch, batch: 1, rows: rows.map((r) => ({ ...r, fraction_of_node: r.images_per_s / node(r.threads) })) }, null, 2),
  );
} else {
  console.log(`${arch}, batch 1, random weights`);
  console.log('runtime                  threads  images/s  vs node (same threads)');
  for (const r of rows) {
    console.log(
      `${r.runtime.padEnd(24)} ${String(r.threads).padStart(7)}  ${r.images_per_s.toFixed(1).padStart(8)}  ${((100 * r.images_per_s) / node(r.threads)).toFixed(0).padStart(5)}%`,
    );
  }
}
