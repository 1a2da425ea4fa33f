import { copyFileSync, mkdtempSync, readdirSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readNpy } from '../../src/io/npy.js';
import { FlattenModel } from '../../src/model.js';
import { fixture } from '../helpers/fixtures.js';

describe('the optimized-model cache', () => {
  it('stores the optimized model once, reuses it with identical outputs, and keys it on the checkpoint file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flatten-optcache-'));
    const ckpt = join(dir, 'w.pth');
    copyFileSync(fixture('pvt_mini', 'checkpoint.pth'), ckpt);
    const x = readNpy(fixture('pvt_mini', 'input.npy'));
    const run = async () => {
      const m = await FlattenModel.load(fixture('pvt_mini', 'config.json'), ckpt, { threads: 1, cacheDir: dir });
      const { logits } = await m.predict(x);
      await m.dispose();
      return logits.data;
    };
    const first = await run();
    const files = () => readdirSync(join(dir, 'optimized')).filter((f) => f.endsWith('.onnx'));
    expect(files()).toHaveLength(1);
    const second = await run();
    expect(Array.from(second)).toEqual(Array.from(first));
    expect(files()).toHaveLength(1);
    utimesSync(ckpt, new Date(), new Date(Date.now() + 5000));
    await run();
    expect(files()).toHaveLength(2);
  });

  it('keeps nothing when the model is never run successfully', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flatten-optcache-'));
    const m = await FlattenModel.load(fixture('pvt_mini', 'config.json'), fixture('pvt_mini', 'checkpoint.pth'), {
      threads: 1,
      cacheDir: dir,
    });
    await expect(m.predict({ shape: [1, 3, 8, 8], data: new Float32Array(192) })).rejects.toThrow(/expected \(B, 3, 64, 64\)/);
    await m.dispose();
    expect(readdirSync(join(dir, 'optimized'))).toEqual([]);
  });
});
