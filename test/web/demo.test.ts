/**
 * The browser demo end to end, in Debian's headless Chromium: the built page (`dist-web/`, made by
 * `npm run build:web`) loads fixture checkpoints and images through its own file pickers, and what it
 * shows must equal what Node computes for the same files.
 *
 * `FLATTEN_E2E_IMAGE` adds a photograph to classify in both (with `FLATTEN_E2E_ARCH` and
 * `FLATTEN_E2E_CHECKPOINT` for a real model; the swin_mini fixture otherwise).
 * `FLATTEN_DEMO_SCREENSHOT` says where the screenshot goes (`npm run docs:demo` writes the README's).
 * `FLATTEN_E2E_BACKEND=webgpu|wasm` runs one backend; by default both: the whole suite on WASM, then
 * the fixture models and the attention clicks again on WebGPU (SwiftShader), where the page must
 * report WebGPU rather than fall back. `FLATTEN_E2E_REGISTERED=1` adds every registered T/B0 model
 * with random weights (a few minutes on SwiftShader); `FLATTEN_WEBGPU_MODELS=all` every fixture
 * model on WebGPU (by default one of each attention layout).
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attentionRows, locateToken, rowOnStage } from '../../src/analysis/attention.js';
import { preprocessFor } from '../../src/classify/classify.js';
import { topIndices } from '../../src/classify/topk.js';
import { PyOrderedDict, PyTensor } from '../../src/checkpoint/pickle_writer.js';
import { saveTorch } from '../../src/checkpoint/torch_file.js';
import { FlattenModel } from '../../src/model.js';
import { resolveArchitectureSpec } from '../../src/models/config_file.js';
import { defineModel } from '../../src/models/define.js';
import { randomWeights } from '../../src/models/init.js';
import { fixture, fixturesDir } from '../helpers/fixtures.js';
import { launch } from './browser.js';
import { DIST_WEB, serve } from './server.js';

interface DemoState {
  model: { name: string; backend: string; threads: number; adapter?: string } | null;
  classification: { logits: number[]; top: { index: number }[] } | null;
  attention: { kinds: Record<string, { grid: [number, number]; data: number[] }> } | null;
  error: string | null;
  done: number;
  busy: number;
}

/** The little of a canvas the test reads (the Node program has no DOM types). */
interface Canvas2d {
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } };
}

const CASES: [string, string][] = [
  ['swin_mini', 'chelsea.png'],
  ['swin_mini_global', 'rocket.jpg'],
  ['cswin_mini', 'chelsea.png'],
  ['cswin_mini_global', 'rocket.jpg'],
  ['pvt_mini', 'chelsea.png'],
  ['pvt_mini_sr', 'rocket.jpg'],
  ['pvt_v2_mini', 'chelsea.png'],
];
/**
 * On WebGPU (SwiftShader, 20–40 s a model) one model of each attention layout: windows, stripes,
 * spatial reduction (Node's WebGPU test and the training page cover the rest); every fixture with
 * `FLATTEN_WEBGPU_MODELS=all`.
 */
const WEBGPU_CASES =
  process.env.FLATTEN_WEBGPU_MODELS === 'all'
    ? CASES
    : CASES.filter(([name]) => ['swin_mini', 'cswin_mini_global', 'pvt_mini_sr'].includes(name));

let server: Awaited<ReturnType<typeof serve>>;
let browser: Browser;
let page: Page;
const scratch = mkdtempSync(join(tmpdir(), 'flatten-vit-e2e-'));

const BACKENDS = (process.env.FLATTEN_E2E_BACKEND ?? 'wasm,webgpu').split(',') as ('wasm' | 'webgpu')[];

/** The page's state, with typed arrays turned into plain arrays. */
function state(): Promise<DemoState> {
  return page.evaluate(() => {
    const s = (globalThis as unknown as { flattenDemo: { state: Record<string, unknown> } }).flattenDemo.state;
    const plain = (v: unknown): unknown =>
      ArrayBuffer.isView(v)
        ? Array.from(v as Float32Array)
        : Array.isArray(v)
          ? v.map(plain)
          : v && typeof v === 'object'
            ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]))
            : v;
    return plain(s) as DemoState;
  });
}

/** Does something on the page and waits until the work it started has finished. */
async function act(action: () => Promise<unknown>): Promise<DemoState> {
  const before = (await state()).done;
  await action();
  await page.waitForFunction(
    (n) => {
      const s = (globalThis as unknown as { flattenDemo: { state: { done: number; busy: number } } }).flattenDemo.state;
      return s.busy === 0 && s.done > n;
    },
    before,
    { timeout: 120_000 },
  );
  return state();
}

const pick = (selector: string, file: string) => act(() => page.setInputFiles(selector, file));

/**
 * Loads a fixture model through the pickers. Each pick loads at once: the checkpoint first, with
 * whatever architecture is selected (it may not fit), then the config, which does.
 */
async function loadCase(name: string): Promise<DemoState> {
  await pick('#checkpoint-file', fixture(name, 'checkpoint.pth'));
  return pick('#config-file', fixture(name, 'config.json'));
}

async function nodeLogits(config: string, checkpoint: string, image: string): Promise<Float32Array> {
  const model = await FlattenModel.load(config, checkpoint, { threads: 1 });
  try {
    return (await model.predict(preprocessFor(model, image, basename(image)))).logits.data;
  } finally {
    await model.dispose();
  }
}

/** How far the page may be from Node: WASM computes as the CPU does; a GPU sums in another order. */
function tolerance(backend: 'wasm' | 'webgpu', reference: ArrayLike<number>): number {
  return backend === 'wasm' ? 1e-5 : 1e-4 * Math.max(...Array.from(reference, Math.abs));
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

for (const backend of BACKENDS)
  describe.sequential(`browser demo on ${backend} (headless Chromium)`, () => {
    const wasmOnly = it.skipIf(backend !== 'wasm');
    beforeAll(async () => {
      if (!existsSync(join(DIST_WEB, 'index.html')))
        throw new Error('dist-web/ not found: run `npm run build:web` first (npm run test:web does)');
      server = await serve(DIST_WEB, fixturesDir());
      browser = await launch(backend);
      page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      page.on('pageerror', (e) => console.error(`[page error] ${e.message}`));
      page.on('console', (m) => console.log(`[page] ${m.text()}`));
      page.on('worker', (w) => w.on('console', (m) => console.log(`[worker] ${m.text()}`)));
      await page.goto(server.url);
      expect(await page.evaluate(() => (globalThis as unknown as { crossOriginIsolated: boolean }).crossOriginIsolated)).toBe(true);
    });
    afterAll(async () => {
      await browser?.close();
      await server?.close();
    });

    it('shows the same logits and top-5 as Node on every fixture model', async () => {
      for (const [i, [name, image]] of (backend === 'webgpu' ? WEBGPU_CASES : CASES).entries()) {
        await loadCase(name);
        const s = await pick('#image-file', fixture('images', image));
        expect(s.error).toBeNull();
        expect(s.model!.backend).toBe(backend);
        if (i === 0) console.log(`[e2e] backend ${backend}${s.model!.adapter ? ` (${s.model!.adapter})` : ''}`);
        if (backend === 'wasm')
          expect(await page.textContent('#notice')).toMatch(/WebGPU is not available in this browser, running on WASM/);
        else expect(await page.textContent('#backend')).toMatch(/^WebGPU \(.+\)$/);
        const node = await nodeLogits(fixture(name, 'config.json'), fixture(name, 'checkpoint.pth'), fixture('images', image));
        const diff = maxAbsDiff(s.classification!.logits, node);
        console.log(
          `[web] ${name} on ${image}: ${s.model!.backend} ${s.model!.threads} thread(s), max |page - node| logits = ${diff.toExponential(2)}`,
        );
        expect(diff).toBeLessThan(tolerance(backend, node));
        expect(s.classification!.top.map((t) => t.index)).toEqual(topIndices(node, 5));
      }
    });

    wasmOnly('loads a checkpoint from a URL', async () => {
      await loadCase('pvt_mini');
      await pick('#image-file', fixture('images', 'rocket.jpg'));
      await pick('#checkpoint-file', fixture('swin_mini', 'checkpoint.pth'));
      await page.fill('#checkpoint-url', `${server.url}files/pvt_mini/checkpoint.pth`);
      const s = await act(() => page.click('#url-form button'));
      expect(s.error).toBeNull();
      expect(s.classification).not.toBeNull();
      expect(s.model!.name).toBe('custom pvt');
      const node = await nodeLogits(
        fixture('pvt_mini', 'config.json'),
        fixture('pvt_mini', 'checkpoint.pth'),
        fixture('images', 'rocket.jpg'),
      );
      expect(maxAbsDiff(s.classification!.logits, node)).toBeLessThan(1e-5);
    });

    it("draws a clicked token's attention that equals Node's, in L and S blocks, and takes the screenshot", async () => {
      const config = fixture('swin_mini', 'config.json');
      const checkpoint = fixture('swin_mini', 'checkpoint.pth');
      const image = fixture('images', 'chelsea.png');
      await loadCase('swin_mini');
      await pick('#image-file', image);
      const layers = await page.$$eval('#layer option', (o) => o.map((x) => x.textContent));
      expect(layers).toEqual([
        'stage 1, block 0 (focused linear)',
        'stage 1, block 1 (focused linear)',
        'stage 2, block 0 (focused linear)',
        'stage 2, block 1 (focused linear)',
        'stage 3, block 0 (softmax)',
        'stage 3, block 1 (softmax)',
        'stage 4, block 0 (softmax)',
        'stage 4, block 1 (softmax)',
      ]);

      // Stage 1 block 1 is shifted: the clicked token's window comes from the cyclic shift.
      await page.selectOption('#layer', '1');
      const s = await act(() => page.click('#image-canvas', { position: { x: 62, y: 150 } }));
      expect(s.error).toBeNull();
      expect(Object.keys(s.attention!.kinds)).toEqual(['focused_dwc', 'focused', 'linear', 'softmax']);
      const model = await FlattenModel.load(config, checkpoint, { threads: 1, probe: 'stage1.block1' });
      const probe = model.definition.probe!;
      const stageToken = Math.floor((150 / 224) * 56) * 56 + Math.floor((62 / 224) * 56);
      const { window, token } = locateToken(probe, stageToken);
      const rows = await attentionRows(model, preprocessFor(model, image, 'chelsea.png'), { stage: 1, block: 1, head: 0, window }, token);
      await model.dispose();
      const diffs = (['focused_dwc', 'focused', 'linear', 'softmax'] as const).map((kind) => {
        const diff = maxAbsDiff(s.attention!.kinds[kind].data, rowOnStage(probe, window, rows[kind]!));
        console.log(`[web] swin_mini stage 1 block 1 ${kind}: max |page - node| = ${diff.toExponential(2)}`);
        return diff;
      });
      expect(Math.max(...diffs)).toBeLessThan(backend === 'wasm' ? 1e-5 : 1e-4);

      const softmaxOnly = await act(() => page.selectOption('#layer', '4'));
      expect(Object.keys(softmaxOnly.attention!.kinds)).toEqual(['softmax']);
      expect(await page.$$eval('#head option', (o) => o.length)).toBe(4);

      await act(() => page.selectOption('#layer', '0'));
      const shaded = await page.$eval('canvas[data-kind="focused_dwc"]', (c) => {
        const d = (c as unknown as Canvas2d).getContext('2d').getImageData(0, 0, 224, 224).data;
        let blue = 0;
        for (let i = 0; i < d.length; i += 4) if (d[i + 2] > d[i] + 40) blue++;
        return blue;
      });
      expect(shaded).toBeGreaterThan(20);
      const shot = (backend === 'wasm' && process.env.FLATTEN_DEMO_SCREENSHOT) || join(scratch, `demo-${backend}.png`);
      await page.screenshot({ path: shot, fullPage: true });
      expect(readFileSync(shot).subarray(1, 4).toString()).toBe('PNG');
      console.log(`[web] screenshot: ${shot}`);
    });

    wasmOnly('answers quick clicks in order, ending with the last point clicked', async () => {
      await loadCase('swin_mini');
      await pick('#image-file', fixture('images', 'chelsea.png'));
      const points = [10, 50, 90, 130, 170, 210].map((v) => ({ x: v, y: 224 - v }));
      const s = await act(async () => {
        for (const position of points) await page.click('#image-canvas', { position, delay: 0 });
      });
      expect(s.error).toBeNull();
      const last = points[points.length - 1];
      expect(await page.textContent('#attention-info')).toMatch(
        new RegExp(`^token \\(${Math.floor((last.y / 224) * 56)}, ${Math.floor((last.x / 224) * 56)}\\) of the 56×56 grid`),
      );
    });

    wasmOnly('releases the old model when another is loaded', async () => {
      // A page of its own on one WASM thread: onnxruntime's waiting thread workers would hold the
      // measurement back a minute.
      const main = page;
      page = await browser.newPage();
      await page.goto(`${server.url}?threads=1`);
      const measure = () =>
        page.evaluate(async () => {
          const p = performance as unknown as { measureUserAgentSpecificMemory(): Promise<{ bytes: number }> };
          return (await p.measureUserAgentSpecificMemory()).bytes;
        });
      await loadCase('cswin_mini');
      const first = await measure();
      for (let i = 0; i < 3; i++) {
        await loadCase('swin_mini');
        await loadCase('cswin_mini');
      }
      const after = await measure();
      const checkpoint = readFileSync(fixture('cswin_mini', 'checkpoint.pth')).length;
      console.log(
        `[web] page memory after 1 load ${(first / 2 ** 20).toFixed(1)} MiB, after 7 more ${(after / 2 ** 20).toFixed(1)} MiB (checkpoint ${(checkpoint / 2 ** 20).toFixed(1)} MiB)`,
      );
      // Each load holds the checkpoint's bytes and the session's weights: kept, they would add ≥ 6 × 2 × 8 MiB.
      expect(after - first).toBeLessThan(checkpoint);
      await page.close();
      page = main;
    });

    wasmOnly('shows one-line messages for bad files and stays usable', async () => {
      const text = join(scratch, 'notes.txt');
      writeFileSync(text, 'just some notes, not a checkpoint\n');
      const truncated = join(scratch, 'truncated.pth');
      const full = readFileSync(fixture('swin_mini', 'checkpoint.pth'));
      writeFileSync(truncated, full.subarray(0, full.length >> 1));

      await loadCase('swin_mini');
      let s = await pick('#checkpoint-file', text);
      expect(s.error).toMatch(/^notes\.txt: is not a checkpoint/);
      expect(s.model).toBeNull();
      expect(await page.isVisible('#error')).toBe(true);

      s = await pick('#checkpoint-file', truncated);
      expect(s.error).toMatch(/^truncated\.pth: /);
      expect(s.model).toBeNull();

      await pick('#checkpoint-file', fixture('swin_mini', 'checkpoint.pth'));
      s = await act(() => page.selectOption('#arch', 'flatten_pvt_t'));
      expect(s.error).toMatch(/^checkpoint\.pth does not fit flatten_pvt_t: .*pick the architecture the checkpoint was trained with$/);

      await pick('#config-file', fixture('swin_mini', 'config.json'));
      s = await pick('#image-file', text);
      expect(s.error).toBe('notes.txt: is not an image; expected a PNG or JPEG file');

      expect(s.error).not.toMatch(/\n|\s+at /);
      s = await pick('#image-file', fixture('images', 'rocket.jpg'));
      expect(s.error).toBeNull();
      expect(s.classification!.top).toHaveLength(5);
      expect(await page.isVisible('#error')).toBe(false);
    });

    it.skipIf(!process.env.FLATTEN_E2E_REGISTERED)(
      'gives Node’s logits and top-5 for every registered T/B0 model (random weights)',
      async () => {
        const image = fixture('images', 'chelsea.png');
        for (const arch of ['flatten_pvt_v2_b0', 'flatten_pvt_t', 'flatten_swin_t', 'flatten_cswin_t', 'flatten_deit_t', 'deit_t']) {
          const def = defineModel(resolveArchitectureSpec(arch));
          const weights = randomWeights(def.params, 7);
          const file = join(scratch, `${arch}.pth`);
          saveTorch(
            file,
            new Map([
              ['model', new PyOrderedDict(def.params.map((p) => [p.official, new PyTensor('float32', p.shape, weights.get(p.name)!)]))],
            ]),
          );
          await page.selectOption('#arch', arch);
          await pick('#checkpoint-file', file);
          const s = await pick('#image-file', image);
          expect(s.error).toBeNull();
          expect(s.model!.backend).toBe(backend);
          const node = await nodeLogits(arch, file, image);
          const diff = maxAbsDiff(s.classification!.logits, node);
          console.log(`[web] ${arch} on chelsea.png: ${backend}, max |page - node| logits = ${diff.toExponential(2)}`);
          expect(diff).toBeLessThan(tolerance(backend, node));
          expect(s.classification!.top.map((t) => t.index)).toEqual(topIndices(node, 5));
        }
      },
    );

    it.skipIf(backend !== 'wasm' || !process.env.FLATTEN_E2E_IMAGE)('agrees with Node on the top-5 of FLATTEN_E2E_IMAGE', async () => {
      const image = process.env.FLATTEN_E2E_IMAGE!;
      const arch = process.env.FLATTEN_E2E_ARCH;
      const checkpoint = process.env.FLATTEN_E2E_CHECKPOINT ?? fixture('swin_mini', 'checkpoint.pth');
      if (arch) await page.selectOption('#arch', arch);
      await pick('#checkpoint-file', checkpoint);
      if (!arch) await pick('#config-file', fixture('swin_mini', 'config.json'));
      const s = await pick('#image-file', image);
      expect(s.error).toBeNull();
      const node = await nodeLogits(arch ?? fixture('swin_mini', 'config.json'), checkpoint, image);
      console.log(`[web] ${basename(image)}: max |page - node| logits = ${maxAbsDiff(s.classification!.logits, node).toExponential(2)}`);
      expect(s.classification!.top.map((t) => t.index)).toEqual(topIndices(node, 5));
    });
  });
