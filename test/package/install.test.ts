/**
 * flatten-vit as a user gets it: `npm pack`, the tarball installed into a fresh project (no CUDA
 * download: the project denies onnxruntime-node's install script, as the README says), then from
 * that project the CLI, an ESM import, a CommonJS require, a TypeScript consumer typechecked against
 * the shipped .d.ts, and a Vite bundle of a page importing WebModel, which must take the browser
 * entry (onnxruntime-web, never onnxruntime-node). Prints the install size.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readNpy } from '../../src/io/npy.js';
import { fixture, REPO } from '../helpers/fixtures.js';

const app = mkdtempSync(join(tmpdir(), 'flatten-consumer-'));
const run = (cmd: string, args: string[], cwd = app) =>
  execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });

function sizeMiB(dir: string): number {
  let total = 0;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) total += statSync(p).size;
    }
  };
  walk(dir);
  return total / 2 ** 20;
}

beforeAll(() => {
  if (!existsSync(join(REPO, 'dist', 'index.js')) || !existsSync(join(REPO, 'dist', 'web', 'index.js'))) {
    throw new Error('the packaging test packs dist/: run `npm run build` first');
  }
  const tarball = run('npm', ['pack', '--silent', '--pack-destination', app], REPO).trim().split('\n').pop()!;
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, allowScripts: { 'onnxruntime-node': false, protobufjs: false } }),
  );
  run('npm', ['install', join(app, tarball), '--no-audit', '--no-fund', '--prefer-offline']);
}, 300_000);

describe('the packed package in a fresh project', () => {
  it('installs without onnxruntime-web for Node users', () => {
    const mods = join(app, 'node_modules');
    console.log(
      `[package] node_modules ${sizeMiB(mods).toFixed(0)} MiB: onnxruntime-node ${sizeMiB(join(mods, 'onnxruntime-node')).toFixed(0)} MiB, flatten-vit ${sizeMiB(join(mods, 'flatten-vit')).toFixed(1)} MiB`,
    );
    expect(existsSync(join(mods, 'onnxruntime-web'))).toBe(false);
  });

  it('runs the CLI: classify and predict', () => {
    const out = run('npx', [
      'flatten-vit',
      'classify',
      '--arch',
      fixture('swin_mini', 'config.json'),
      '--checkpoint',
      fixture('swin_mini', 'checkpoint.pth'),
      fixture('images', 'chelsea.png'),
      '--json',
    ]);
    expect((JSON.parse(out) as { top: unknown[] }[])[0].top).toHaveLength(5);
    const logits = join(app, 'logits.npy');
    run('npx', [
      'flatten-vit',
      'predict',
      '--arch',
      fixture('pvt_mini', 'config.json'),
      '--checkpoint',
      fixture('pvt_mini', 'checkpoint.pth'),
      '--input',
      fixture('pvt_mini', 'input.npy'),
      '--save-logits',
      logits,
    ]);
    const a = readNpy(logits).data;
    const b = readNpy(fixture('pvt_mini', 'logits.npy')).data;
    expect(Math.max(...a.map((v, i) => Math.abs(v - b[i])))).toBeLessThan(1e-5);
  }, 120_000);

  it('imports from ESM and requires from CommonJS', () => {
    const body = (imp: string) => `${imp}
(async () => {
  const model = await FlattenModel.load(${JSON.stringify(fixture('pvt_mini', 'config.json'))}, ${JSON.stringify(fixture('pvt_mini', 'checkpoint.pth'))}, { threads: 1 });
  const { logits } = await model.predict(readNpy(${JSON.stringify(fixture('pvt_mini', 'input.npy'))}));
  console.log(JSON.stringify(logits.shape));
  await model.dispose();
})();
`;
    writeFileSync(join(app, 'esm.mjs'), body("import { FlattenModel, readNpy } from 'flatten-vit';"));
    writeFileSync(join(app, 'cjs.cjs'), body("const { FlattenModel, readNpy } = require('flatten-vit');"));
    const shape = JSON.stringify(readNpy(fixture('pvt_mini', 'logits.npy')).shape);
    expect(run(process.execPath, ['esm.mjs']).trim()).toBe(shape);
    expect(run(process.execPath, ['--no-warnings', 'cjs.cjs']).trim()).toBe(shape);
  }, 120_000);

  it('typechecks a TypeScript consumer against the shipped declarations', () => {
    writeFileSync(
      join(app, 'consumer.ts'),
      `import { FlattenModel, FlattenError, type Prediction, type StepRecord } from 'flatten-vit';
export async function top1(path: string): Promise<number> {
  const model: FlattenModel = await FlattenModel.load('flatten_pvt_v2_b0', path);
  const out: Prediction = await model.predict({ shape: [1, 3, 224, 224], data: new Float32Array(3 * 224 * 224) });
  await model.dispose();
  return out.logits.data.indexOf(Math.max(...out.logits.data));
}
export const line = (r: StepRecord): string => \`\${r.epoch} \${r.loss}\`;
export const ours = (e: unknown): boolean => e instanceof FlattenError;
`,
    );
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, types: [] },
        files: ['consumer.ts'],
      }),
    );
    run(process.execPath, [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json']);
  }, 120_000);

  it('bundles a page importing WebModel with Vite, from the browser entry', () => {
    run('npm', ['install', 'onnxruntime-web@^1.30.0', '--no-audit', '--no-fund', '--prefer-offline']);
    const web = join(app, 'page');
    mkdirSync(web, { recursive: true });
    writeFileSync(join(web, 'index.html'), '<!doctype html><script type="module" src="./main.ts"></script>\n');
    writeFileSync(join(web, 'main.ts'), "import { WebModel } from 'flatten-vit';\nconsole.log(typeof WebModel.load);\n");
    run(process.execPath, [
      join(REPO, 'node_modules', 'vite', 'bin', 'vite.js'),
      'build',
      'page',
      '--outDir',
      join(app, 'page-dist'),
      '--emptyOutDir',
      '--logLevel',
      'error',
    ]);
    const assets = readdirSync(join(app, 'page-dist', 'assets'));
    const js = assets
      .filter((f) => f.endsWith('.js'))
      .map((f) => readFileSync(join(app, 'page-dist', 'assets', f), 'utf8'))
      .join('\n');
    expect(assets.some((f) => f.endsWith('.wasm'))).toBe(true);
    expect(js).not.toMatch(/onnxruntime-node|onnxruntime_binding/);
    expect(js).toMatch(/webgpu/);
  }, 300_000);
});
