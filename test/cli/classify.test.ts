import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readNpy } from '../../src/io/npy.js';
import { cli, expectCleanFailure } from '../helpers/cli.js';
import { fixture, maxDiff } from '../helpers/fixtures.js';

const model = ['--arch', fixture('swin_mini', 'config.json'), '--checkpoint', fixture('swin_mini', 'checkpoint.pth'), '--threads', '1'];

describe('flatten-vit classify, eval, preprocess, export and info', () => {
  it('classify --json prints only JSON, and reports unreadable images with exit status 1', () => {
    const dir = mkdtempSync(join(tmpdir(), 'flatten-cls-'));
    const bad = join(dir, 'bad.png');
    writeFileSync(bad, 'nope');
    const r = cli(['classify', ...model, '--json', '--top', '3', fixture('images', 'chelsea.png'), bad, fixture('images', 'rocket.jpg')]);
    expect(r.status).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out.map((o: { file: string }) => o.file)).toEqual([fixture('images', 'chelsea.png'), fixture('images', 'rocket.jpg')]);
    expect(Object.keys(out[0].top[0]).sort()).toEqual(['index', 'label', 'score']);
    expect(out[0].top).toHaveLength(3);
    expect(r.stderr).toMatch(/skipped .*bad\.png: is not an image/);
  });

  it('preprocess writes the exact model input', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'flatten-pre-')), 'x.npy');
    expect(cli(['preprocess', fixture('images', 'rocket.jpg'), '--size', '384', '--no-crop', '--save', out]).status).toBe(0);
    expect(maxDiff(readNpy(out).data, readNpy(fixture('images', 'rocket.resize384.npy')).data).max).toBe(0);
  });

  it('eval --json prints a summary', () => {
    const dir = mkdtempSync(join(tmpdir(), 'flatten-evalcli-'));
    for (const c of ['a', 'b']) {
      const d = join(dir, c);
      mkdirSync(d);
      writeFileSync(join(d, 'x.jpg'), readFileSync(fixture('images', 'rocket.jpg')));
    }
    const r = cli(['eval', ...model, '--data', dir, '--json']);
    expect(r.status).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({ images: 2, skipped: 0, classes: 2 });
    expect([0, 50, 100]).toContain(s.top1);
  });

  it('export writes a standard ONNX file whose logits equal predict', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flatten-export-'));
    const onnx = join(dir, 'm.onnx');
    const r = cli(['export', ...model, '--out', onnx]);
    expect(r.status).toBe(0);
    const logits = join(dir, 'l.npy');
    expect(cli(['predict', ...model, '--input', fixture('swin_mini', 'input.npy'), '--save-logits', logits]).status).toBe(0);
    const ort = await import('onnxruntime-node');
    const s = await ort.InferenceSession.create(onnx);
    const x = readNpy(fixture('swin_mini', 'input.npy'));
    const out = await s.run({ pixel_values: new ort.Tensor('float32', x.data, [...x.shape]) });
    await s.release();
    const d = maxDiff(out.logits.data as Float32Array, readNpy(logits).data).max;
    console.log(`[export] swin_mini exported ONNX vs predict: logits max|diff| ${d.toExponential(2)}`);
    expect(d).toBeLessThanOrEqual(1e-6);
    expect(new TextDecoder().decode(readFileSync(onnx).subarray(0, 200))).not.toContain('com.microsoft');
  });

  it('info --json reports params and MACs', () => {
    const r = cli(['info', '--arch', 'flatten_pvt_t', '--json']);
    const info = JSON.parse(r.stdout);
    expect(info.params).toBe(12_150_504);
    expect(Math.abs(info.macs / 1e9 - 2.0) / 2.0).toBeLessThan(0.05);
    expect(info.stages.map((s: { grid: number[] }) => s.grid)).toEqual([
      [56, 56],
      [28, 28],
      [14, 14],
      [7, 7],
    ]);
  });

  it('explains a missing --arch', () => {
    expect(expectCleanFailure(cli(['classify', '--checkpoint', fixture('swin_mini', 'checkpoint.pth'), 'x.jpg']))).toMatch(
      /--arch is required/,
    );
  });
});
