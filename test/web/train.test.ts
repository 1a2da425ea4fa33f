/**
 * The training page end to end, in Debian's headless Chromium: the built page (`dist-web/train.html`)
 * is given an ImageFolder through its own folder picker, a fixture architecture and a recipe through
 * its controls, and trains; its per-step losses, learning rates and gradient norms must equal
 * `flatten-vit train --data` on the same folder with the same seed and recipe, and the `.pth` it
 * downloads must classify in Node as the page's own Try panel does. On WebGPU (SwiftShader) nothing
 * but the loss and the gradient norm may be read back per step. A reload mid-run resumes exactly,
 * and bad input gets one line.
 *
 * `FLATTEN_E2E_TRAIN_DATA=<folder with train/ and val/>` trains on that folder instead (with
 * `FLATTEN_E2E_TRAIN_RECIPE=<yaml>`, `FLATTEN_E2E_TRAIN_ARCH=<config.json>`, `FLATTEN_E2E_TRAIN_SEED`),
 * printing `[e2e] train <backend> epoch N loss L val_acc1 A` per epoch and the first ten step losses.
 * `FLATTEN_E2E_BACKEND=webgpu|wasm` runs one backend; by default both.
 * `FLATTEN_STUDIO_SCREENSHOT=<png>` saves a screenshot of the page mid-run.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preprocessFor } from '../../src/classify/classify.js';
import { topIndices } from '../../src/classify/topk.js';
import { openCheckpoint } from '../../src/checkpoint/open.js';
import { FlattenModel } from '../../src/model.js';
import { defineModel } from '../../src/models/define.js';
import { withArgs } from '../../src/models/registry.js';
import { initialWeights } from '../../src/train/init.js';
import { resolveArchitectureSpec } from '../../src/models/config_file.js';
import { cli } from '../helpers/cli.js';
import { fixture } from '../helpers/fixtures.js';
import { makeImageFolder, patternPng } from '../helpers/image_folder.js';
import { launch } from './browser.js';
import { DIST_WEB, serve } from './server.js';

interface StudioState {
  classes: { name: string; train: number; val: number }[];
  skipped: string[];
  run: { status: string; epochs: number; steps: { epoch: number; step: number; loss: number; lr: number; gradNorm: number }[] } | null;
  started: { backend: string; part: number; batch: number } | null;
  epochs: { epoch: number; trainLoss: number; valAcc1: number | null }[];
  downloadedBytes: number[];
  gpuReads: { maps: number; bytes: number }[];
  top: { label: string; score: number }[] | null;
  error: string | null;
  events: number;
  busy: number;
  done: number;
}

const BACKENDS = (process.env.FLATTEN_E2E_BACKEND ?? 'wasm,webgpu').split(',') as ('wasm' | 'webgpu')[];
const OWN_DATA = process.env.FLATTEN_E2E_TRAIN_DATA;
const ARCH = process.env.FLATTEN_E2E_TRAIN_ARCH ?? fixture('pvt_v2_mini', 'config.json');
const RECIPE = process.env.FLATTEN_E2E_TRAIN_RECIPE;
const SEED = Number(process.env.FLATTEN_E2E_TRAIN_SEED ?? 0);
/** The page's recipe fields (the Node run gets the same keys): two epochs of batches of 4, no warm-up. */
const FIELDS = { epochs: '2', batch: '4', lr: '5e-2', warmup: '0' };
const OPTS = [
  'TRAIN.EPOCHS',
  FIELDS.epochs,
  'DATA.BATCH_SIZE',
  FIELDS.batch,
  'TRAIN.BASE_LR',
  FIELDS.lr,
  'TRAIN.WARMUP_EPOCHS',
  FIELDS.warmup,
];

const scratch = mkdtempSync(join(tmpdir(), 'flatten-vit-studio-'));
const nodeOut = join(scratch, 'node-run');
const data = OWN_DATA ?? join(scratch, 'data');
let server: Awaited<ReturnType<typeof serve>>;

interface NodeStep {
  epoch: number;
  step: number;
  loss: number;
  lr: number;
  grad_norm: number;
}
let nodeSteps: NodeStep[] = [];
let nodeEpochs: { epoch: number; val_acc1: number | null }[] = [];

beforeAll(async () => {
  if (!OWN_DATA) {
    makeImageFolder(data, 'train', ['ant', 'bee', 'cat'], 4, 48);
    makeImageFolder(data, 'val', ['ant', 'bee', 'cat'], 2, 48, 1);
  }
  const args = [
    'train',
    '--arch',
    ARCH,
    '--data',
    data,
    '--seed',
    String(SEED),
    '--json',
    '--threads',
    '2',
    '--workers',
    '1',
    '--out',
    nodeOut,
  ];
  // the page sets DATA.IMG_SIZE to the model's input itself
  const spec = resolveArchitectureSpec(ARCH);
  const size = String(spec.family.inputSize(spec.args)[0]);
  const r = cli([...args, ...(RECIPE ? ['--cfg', RECIPE] : []), '--opts', 'DATA.IMG_SIZE', size, ...OPTS], {});
  expect(r.status, r.stderr).toBe(0);
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, number>);
  nodeSteps = lines.filter((l) => 'loss' in l) as unknown as NodeStep[];
  nodeEpochs = lines.filter((l) => 'val_acc1' in l) as unknown as typeof nodeEpochs;
  server = await serve(DIST_WEB);
}, 600_000);

afterAll(async () => {
  await server?.close();
});

function state(page: Page): Promise<StudioState> {
  return page.evaluate(() => (globalThis as unknown as { flattenStudio: { state: StudioState } }).flattenStudio.state);
}

async function settle(page: Page): Promise<StudioState> {
  await page.waitForFunction(() => (globalThis as unknown as { flattenStudio: { state: StudioState } }).flattenStudio.state.busy === 0);
  return state(page);
}

/** Opens the page in a fresh profile (empty storage), with the folder, architecture and recipe set through its controls. */
async function setUp(browser: Browser, backend: 'wasm' | 'webgpu'): Promise<Page> {
  const page = await browser.newPage({ acceptDownloads: true });
  page.on('pageerror', (e) => console.log(`[e2e] page error: ${e.message}`));
  await page.goto(`${server.url}train.html`);
  await settle(page);
  await page.setInputFiles('#folder-file', data);
  await settle(page);
  await page.setInputFiles('#config-file', ARCH);
  await settle(page);
  if (RECIPE) {
    await page.setInputFiles('#recipe-file', RECIPE);
    await settle(page);
  }
  for (const [id, v] of Object.entries(FIELDS)) await page.fill(`#${id}`, v);
  await page.fill('#seed', String(SEED));
  await page.selectOption('#backend-select', backend);
  return page;
}

/** Waits until the run ends (done or stopped) or fails; returns the state. */
async function untilEnded(page: Page, timeout = 900_000): Promise<StudioState> {
  await page.waitForFunction(
    () => {
      const s = (globalThis as unknown as { flattenStudio: { state: StudioState } }).flattenStudio.state;
      return s.error !== null || (s.run !== null && ['done', 'stopped', 'failed'].includes(s.run.status));
    },
    undefined,
    { timeout, polling: 500 },
  );
  return state(page);
}

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);

describe.each(BACKENDS)('the training page on %s', (backend) => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launch(backend);
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('trains as `flatten-vit train --data` does, step for step, and its .pth classifies in Node as in the page', async () => {
    const page = await setUp(browser, backend);
    const before = await state(page);
    console.log(`[e2e] classes ${JSON.stringify(before.classes)}`);
    expect(before.classes.map((c) => c.name)).toEqual(OWN_DATA ? expect.any(Array) : ['ant', 'bee', 'cat']);
    await page.click('#start-run');
    if (process.env.FLATTEN_STUDIO_SCREENSHOT && backend === BACKENDS[0]) {
      await page.waitForFunction(
        () => (globalThis as unknown as { flattenStudio: { state: StudioState } }).flattenStudio.state.epochs.length >= 1,
        undefined,
        {
          timeout: 900_000,
        },
      );
      await page.screenshot({ path: process.env.FLATTEN_STUDIO_SCREENSHOT, fullPage: true });
    }
    const s = await untilEnded(page);
    expect(s.error).toBeNull();
    expect(s.started?.backend).toBe(backend);
    const steps = s.run!.steps;
    for (const e of s.epochs) {
      const losses = steps.filter((x) => x.epoch === e.epoch).map((x) => x.loss);
      console.log(
        `[e2e] train ${backend} epoch ${e.epoch} loss ${(losses.reduce((a, b) => a + b, 0) / losses.length).toFixed(6)} val_acc1 ${e.valAcc1?.toFixed(2)}`,
      );
    }
    console.log(
      `[e2e] losses ${backend} [${steps
        .slice(0, 10)
        .map((x) => x.loss.toFixed(6))
        .join(', ')}]`,
    );
    expect(steps).toHaveLength(nodeSteps.length);
    const loss = Math.max(...steps.map((x, i) => rel(x.loss, nodeSteps[i].loss)));
    const lr = Math.max(...steps.map((x, i) => rel(x.lr, nodeSteps[i].lr)));
    const norm = Math.max(...steps.map((x, i) => rel(x.gradNorm, nodeSteps[i].grad_norm)));
    const acc = Math.max(...s.epochs.map((e, i) => Math.abs((e.valAcc1 ?? 0) - (nodeEpochs[i].val_acc1 ?? 0))));
    console.log(
      `[e2e] ${backend}: ${steps.length} steps against Node: loss ${loss.toExponential(2)}, lr ${lr.toExponential(2)}, grad norm ${norm.toExponential(2)} relative; val acc@1 within ${acc.toFixed(2)} points`,
    );
    expect(lr).toBe(0);
    expect(loss).toBeLessThan(OWN_DATA ? 1e-2 : 1e-4);
    expect(norm).toBeLessThan(OWN_DATA ? 1e-2 : 1e-3);
    expect(acc).toBeLessThanOrEqual(OWN_DATA ? 2 : 0);
    if (backend === 'webgpu') {
      // per step, only the loss and the gradient norm (4 bytes each) come back from the GPU
      const perStep = s.downloadedBytes.slice(1).map((b, i) => b - s.downloadedBytes[i]);
      const within = perStep.filter((_, i) => steps[i + 1].epoch === steps[i].epoch);
      const maps = s.gpuReads.slice(1).map((r, i) => ({ maps: r.maps - s.gpuReads[i].maps, bytes: r.bytes - s.gpuReads[i].bytes }));
      const mapsWithin = maps.filter((_, i) => steps[i + 1].epoch === steps[i].epoch);
      console.log(
        `[e2e] webgpu: per step within an epoch, onnxruntime returned ${[...new Set(within)].join(', ')} bytes; GPU buffers mapped for reading: ${[...new Set(mapsWithin.map((m) => `${m.maps} (${m.bytes} bytes)`))].join(', ')}`,
      );
      expect(new Set(within)).toEqual(new Set([8]));
      for (const m of mapsWithin) expect(m.maps).toBeLessThanOrEqual(2);
    }
    // the downloaded checkpoint, in Node
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-pth')]);
    const pth = join(scratch, `${backend}.pth`);
    await download.saveAs(pth);
    // the final weights, against Node's: each tensor's distance relative to how far training moved it
    const mine = openCheckpoint(pth);
    const theirs = openCheckpoint(join(nodeOut, 'last.pth'));
    const spec = resolveArchitectureSpec(ARCH);
    const start = initialWeights(
      defineModel(withArgs(spec, { num_classes: theirs.tensors.get('head.bias')!.shape[0] })).params,
      spec.family,
      SEED,
    );
    let worst = { rel: 0, name: '' };
    try {
      const official = new Map(
        defineModel(withArgs(spec, { num_classes: theirs.tensors.get('head.bias')!.shape[0] })).params.map((p) => [p.official, p.name]),
      );
      for (const [k, t] of theirs.tensors) {
        if (!official.has(k)) continue;
        const b = t.read();
        const a = mine.tensors.get(k)!.read();
        const w0 = start.get(official.get(k)!)!;
        let d = 0;
        let n = 0;
        for (let i = 0; i < b.length; i++) {
          d += (a[i] - b[i]) ** 2;
          n += (b[i] - w0[i]) ** 2;
        }
        const r = n === 0 ? Math.sqrt(d) : Math.sqrt(d / n);
        if (r > worst.rel) worst = { rel: r, name: k };
      }
    } finally {
      mine.close();
      theirs.close();
    }
    console.log(
      `[e2e] ${backend}: final weights against Node's last.pth: worst ${worst.rel.toExponential(2)} of the update (${worst.name})`,
    );
    expect(worst.rel, worst.name).toBeLessThan(OWN_DATA ? 1e-2 : 1e-3);
    const probe = join(data, 'val', 'bee', OWN_DATA ? '' : '0.png');
    if (!OWN_DATA) {
      await page.setInputFiles('#try-file', probe);
      await page.waitForFunction(
        () => (globalThis as unknown as { flattenStudio: { state: StudioState } }).flattenStudio.state.top !== null,
      );
      const pageTop = (await state(page)).top!.map((t) => t.label);
      const arch = JSON.parse(readFileSync(ARCH, 'utf8')) as { family: string; args: Record<string, unknown> };
      const config = join(scratch, 'arch3.json');
      writeFileSync(config, JSON.stringify({ ...arch, args: { ...arch.args, num_classes: 3 } }));
      const model = await FlattenModel.load(config, pth, { threads: 1 });
      try {
        expect(model.classNames).toEqual(['ant', 'bee', 'cat']);
        const { logits } = await model.predict(preprocessFor(model, probe, 'probe'));
        const nodeTop = topIndices(logits.data, 3).map((i) => model.classNames![i]);
        console.log(
          `[e2e] ${backend}: top-3 of val/bee/0.png in the page ${pageTop.join(', ')}; in Node from the downloaded .pth ${nodeTop.join(', ')}`,
        );
        expect(nodeTop).toEqual(pageTop);
      } finally {
        await model.dispose();
      }
    }
    await page.close();
  }, 1_200_000);

  it.skipIf(OWN_DATA !== undefined || backend !== 'wasm')(
    'resumes exactly after a reload mid-run',
    async () => {
      const page = await setUp(browser, backend);
      await page.click('#start-run');
      // the checkpoint after epoch 1 is in storage; reload while epoch 2 runs (or just after it began)
      await page.waitForFunction(
        () => (globalThis as unknown as { flattenStudio: { state: StudioState } }).flattenStudio.state.epochs.length >= 1,
        undefined,
        { timeout: 600_000 },
      );
      await page.reload();
      await settle(page);
      expect(await page.isEnabled('#resume-run')).toBe(true);
      await page.click('#resume-run');
      const s = await untilEnded(page);
      expect(s.error).toBeNull();
      const steps = s.run!.steps;
      expect(steps).toHaveLength(nodeSteps.length);
      const loss = Math.max(...steps.map((x, i) => rel(x.loss, nodeSteps[i].loss)));
      console.log(
        `[e2e] ${backend}: reloaded after epoch 1 and resumed; ${steps.length} steps, loss within ${loss.toExponential(2)} of Node`,
      );
      expect(loss).toBeLessThan(1e-4);
      await page.close();
    },
    1_200_000,
  );

  it.skipIf(OWN_DATA !== undefined || backend !== 'wasm')(
    'pauses before a step, stops after one with a checkpoint, and resumes from it exactly',
    async () => {
      const page = await setUp(browser, backend);
      await page.click('#start-run');
      await page.click('#pause-run');
      await page.waitForFunction(
        () => (globalThis as unknown as { flattenStudio: { state: StudioState } }).flattenStudio.state.started !== null,
        undefined,
        {
          timeout: 600_000,
        },
      );
      await page.waitForTimeout(1500);
      expect((await state(page)).run!.steps).toHaveLength(0);
      // Stop while paused: the run takes one step, saves where it stopped, and ends
      await page.click('#stop-run');
      const stopped = await untilEnded(page);
      expect(stopped.run!.status).toBe('stopped');
      expect(stopped.run!.steps).toHaveLength(1);
      await page.click('#resume-run');
      await page.waitForFunction(
        () => (globalThis as unknown as { flattenStudio: { state: StudioState } }).flattenStudio.state.run?.status === 'running',
      );
      const s = await untilEnded(page);
      expect(s.run!.status).toBe('done');
      const steps = s.run!.steps;
      expect(steps).toHaveLength(nodeSteps.length);
      const loss = Math.max(...steps.map((x, i) => rel(x.loss, nodeSteps[i].loss)));
      console.log(
        `[e2e] ${backend}: paused before step 1, stopped after it, resumed from its checkpoint: ${steps.length} steps, loss within ${loss.toExponential(2)} of Node`,
      );
      expect(loss).toBeLessThan(1e-4);
      await page.close();
    },
    1_200_000,
  );

  it.skipIf(OWN_DATA !== undefined || backend !== 'wasm')(
    'bad input gets one line and loses nothing',
    async () => {
      const page = await setUp(browser, backend);
      // a non-image, an undecodable PNG and one over the pixel limit are skipped and counted
      const bad = join(scratch, 'bad');
      makeImageFolder(bad, 'x', ['ant'], 1, 48);
      const big = Buffer.from(patternPng(0, 4, 4, 0));
      big.writeUInt32BE(20000, 16);
      big.writeUInt32BE(20000, 20);
      writeFileSync(join(bad, 'x', 'ant', 'big.png'), big);
      writeFileSync(join(bad, 'x', 'ant', 'broken.png'), Buffer.from(patternPng(0, 8, 8, 0)).subarray(0, 40));
      writeFileSync(join(bad, 'x', 'ant', 'notes.txt'), 'hello');
      await page.setInputFiles('input.class-files >> nth=0', [
        join(bad, 'x', 'ant', 'big.png'),
        join(bad, 'x', 'ant', 'broken.png'),
        join(bad, 'x', 'ant', 'notes.txt'),
      ]);
      const s = await settle(page);
      console.log(`[e2e] skipped: ${s.skipped.join(' | ')}`);
      expect(s.skipped).toHaveLength(3);
      expect(s.skipped.join('\n')).toMatch(/big\.png: 20000×20000 is more than the \d+ pixels allowed/);
      expect(s.skipped.join('\n')).toMatch(/broken\.png: could not be decoded/);
      expect(s.skipped.join('\n')).toMatch(/notes\.txt: not an image file/);
      expect(s.classes.find((c) => c.name === 'ant')!.train + s.classes.find((c) => c.name === 'ant')!.val).toBe(6);
      // a checkpoint of another architecture: one line, and the images stay
      await page.setInputFiles('#checkpoint-file', fixture('swin_mini', 'checkpoint.pth'));
      await page.click('#start-run');
      const failed = await untilEnded(page);
      console.log(`[e2e] other architecture: ${failed.error}`);
      expect(failed.error).toMatch(/^[^\n]*swin_mini|checkpoint\.pth[^\n]*another architecture|does not fit|missing/);
      expect((await state(page)).classes.reduce((n, c) => n + c.train + c.val, 0)).toBe(18);
      await page.close();
      // fewer than two classes, and a class with no images, in a fresh profile
      const empty = await browser.newPage();
      await empty.goto(`${server.url}train.html`);
      await settle(empty);
      await doEmpty(empty);
    },
    600_000,
  );
});

async function doEmpty(page: Page): Promise<void> {
  await page.fill('#new-class', 'only');
  await page.click('#add-class');
  await settle(page);
  await page.click('#start-run');
  let st = await settle(page);
  expect(st.error).toMatch(/at least two classes/);
  await page.fill('#new-class', 'empty');
  await page.click('#add-class');
  await settle(page);
  await page.click('#start-run');
  st = await settle(page);
  expect(st.error).toMatch(/class '(empty|only)' has no training images/);
  await page.close();
}
