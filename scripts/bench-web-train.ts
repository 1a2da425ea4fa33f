/**
 * Training in the browser, measured (`npm run bench:web-train`): in headless Chromium on the built
 * training page, onnxruntime-web's WASM backend (2 threads) times the training step of a model with
 * fresh weights on synthetic images, next to `bench --train` in Node with the same batch and threads;
 * then a whole linear probe (frozen backbone, augmentation off: features computed once, the head
 * trained on them) on 100 images; and, for every registered T/B0 model, the largest batch that fits
 * WASM's 4 GiB as the page computes it before the first step.
 *
 * Options: `--arch flatten_pvt_v2_b0`, `--batch 8`, `--steps 4`, `--probe-arch flatten_swin_t`,
 * `--probe-images 100`, `--probe-epochs 5`, `--backend wasm|webgpu`, `--json`.
 */
import { parseArgs } from 'node:util';
import { benchTrainStep } from '../src/bench/train_step.js';
import { registeredNames, resolveArchitecture } from '../src/models/registry.js';
import { fitPart, trainingMemory } from '../src/web/memory.js';
import { launch } from '../test/web/browser.js';
import { DIST_WEB, serve } from '../test/web/server.js';
import type { BenchResult } from '../web/studio/bench.js';

const { values } = parseArgs({
  options: {
    arch: { type: 'string', default: 'flatten_pvt_v2_b0' },
    batch: { type: 'string', default: '8' },
    steps: { type: 'string', default: '4' },
    'probe-arch': { type: 'string', default: 'flatten_swin_t' },
    'probe-images': { type: 'string', default: '100' },
    'probe-epochs': { type: 'string', default: '5' },
    backend: { type: 'string', default: 'wasm' },
    json: { type: 'boolean' },
  },
});
const log = (s: string) => process.stderr.write(`${s}\n`);
const batch = Number(values.batch);
const backend = values.backend as 'wasm' | 'webgpu';

type Bench = { arch: string; batch: number; images: number; epochs: number; probe: boolean; backend: 'wasm' | 'webgpu'; threads: number };

const server = await serve(DIST_WEB);
const browser = await launch(backend);
let step: BenchResult;
let probe: BenchResult;
try {
  const page = await browser.newPage();
  page.on('crash', () => log('the page crashed (out of memory?)'));
  page.on('console', (m) => (m.type() === 'error' ? log(`page: ${m.text()}`) : undefined));
  await page.goto(`${server.url}train.html`);
  const run = (b: Bench) =>
    page.evaluate(
      (r) => (globalThis as unknown as { flattenStudio: { benchTrain(r: Bench): Promise<BenchResult> } }).flattenStudio.benchTrain(r),
      b,
    );
  log(`${values.arch}: training steps of batch ${batch} on ${backend}…`);
  step = await run({ arch: values.arch!, batch, images: batch * Number(values.steps), epochs: 1, probe: false, backend, threads: 2 });
  log(`${values['probe-arch']}: linear probe on ${values['probe-images']} images, ${values['probe-epochs']} epochs…`);
  probe = await run({
    arch: values['probe-arch']!,
    batch: 16,
    images: Number(values['probe-images']),
    epochs: Number(values['probe-epochs']),
    probe: true,
    backend,
    threads: 2,
  });
} finally {
  await browser.close();
  await server.close();
}
log(`${values.arch}: bench --train in Node, batch ${batch}, 2 threads…`);
const node = await benchTrainStep(resolveArchitecture(values.arch!), { batch, threads: 2, seconds: 10 });
const fits = registeredNames()
  .filter((n) => /_(t|b0)$/.test(n))
  .map((name) => {
    const arch = resolveArchitecture(name);
    const m = trainingMemory(arch);
    return { arch: name, mib_base: m.base / 2 ** 20, mib_per_image: m.perImage / 2 ** 20, largest_part_of_256: fitPart(arch, 256) };
  });
const report = {
  arch: values.arch,
  batch,
  backend,
  page: {
    threads: step.threads,
    part: step.part,
    images_per_s: step.imagesPerSecond,
    step_ms: step.stepMs,
    gflops: step.trainGflops,
    gemm_gflops: step.gemmGflops,
    fraction_of_gemm: step.trainGflops / step.gemmGflops,
  },
  node: {
    threads: 2,
    images_per_s: node.images_per_s,
    step_ms: node.step_ms,
    gflops: node.gflops,
    gemm_gflops: node.gemm_gflops,
    fraction_of_gemm: node.fraction_of_gemm,
  },
  fraction_of_node: step.imagesPerSecond / node.images_per_s,
  probe: {
    arch: values['probe-arch'],
    images: Number(values['probe-images']),
    epochs: Number(values['probe-epochs']),
    total_s: probe.totalSeconds,
    features_s: probe.prepareSeconds,
  },
  wasm_fit: fits,
};
if (values.json) console.log(JSON.stringify(report, null, 2));
else {
  console.log(
    `${values.arch}, batch ${batch}: page (${backend}, ${step.threads} threads, parts of ${step.part}) ${step.imagesPerSecond.toFixed(2)} img/s; Node ${node.images_per_s.toFixed(2)} img/s (${(100 * report.fraction_of_node).toFixed(0)}%)`,
  );
  if (backend === 'wasm') {
    console.log(
      `  GEMM rate: WASM ${step.gemmGflops.toFixed(1)} GFLOP/s, Node ${node.gemm_gflops.toFixed(1)} GFLOP/s (${((100 * step.gemmGflops) / node.gemm_gflops).toFixed(0)}%); the step at ${(100 * report.page.fraction_of_gemm).toFixed(0)}% of its GEMM rate in the page, ${(100 * node.fraction_of_gemm).toFixed(0)}% in Node`,
    );
  }
  console.log(
    `linear probe of ${values['probe-arch']} on ${report.probe.images} images, ${report.probe.epochs} epochs: ${probe.totalSeconds.toFixed(1)} s (features ${probe.prepareSeconds.toFixed(1)} s)`,
  );
  console.log('WASM: largest images per training run (of a batch of 256)');
  for (const f of fits)
    console.log(
      `  ${f.arch.padEnd(20)} ${String(f.largest_part_of_256).padStart(4)}   (${f.mib_base.toFixed(0)} MiB + ${f.mib_per_image.toFixed(0)} MiB per image, estimated)`,
    );
}
