import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openCheckpoint } from '../../src/checkpoint/open.js';
import { readNpy } from '../../src/io/npy.js';
import { cli, expectCleanFailure } from '../helpers/cli.js';
import { fixture, maxDiff } from '../helpers/fixtures.js';

describe('flatten-vit convert', () => {
  const dir = mkdtempSync(join(tmpdir(), 'flatten-convert-'));

  it("writes the model's own weights, which predict reads back to the same logits", () => {
    const out = join(dir, 'swin.safetensors');
    const r = cli([
      'convert',
      '--arch',
      fixture('swin_mini', 'config.json'),
      '--checkpoint',
      fixture('swin_mini', 'checkpoint.pth'),
      '--out',
      out,
    ]);
    expect(r.status).toBe(0);
    const sd = openCheckpoint(out);
    expect(sd.format).toBe('safetensors');
    expect(sd.tensors.has('stage1.block0.attn.qkv.weight')).toBe(true);
    expect(sd.tensors.has('layers.0.blocks.1.attn_mask')).toBe(false);
    sd.close();
    const logits = join(dir, 'logits.npy');
    const p = cli([
      'predict',
      '--arch',
      fixture('swin_mini', 'config.json'),
      '--checkpoint',
      out,
      '--input',
      fixture('swin_mini', 'input.npy'),
      '--save-logits',
      logits,
    ]);
    expect(p.status).toBe(0);
    expect(maxDiff(readNpy(logits).data, readNpy(fixture('swin_mini', 'logits.npy')).data).max).toBeLessThan(1e-5);
  });

  it('converts the EMA weights with --ema', () => {
    const out = join(dir, 'ema.safetensors');
    expect(
      cli([
        'convert',
        '--arch',
        fixture('cswin_mini', 'config.json'),
        '--checkpoint',
        fixture('cswin_mini', 'checkpoint.pth'),
        '--out',
        out,
        '--ema',
      ]).status,
    ).toBe(0);
    const ema = openCheckpoint(out);
    const model = openCheckpoint(fixture('cswin_mini', 'checkpoint.pth'));
    expect(Array.from(ema.tensors.get('head.weight')!.read())).not.toEqual(Array.from(model.tensors.get('head.weight')!.read()));
    ema.close();
    model.close();
  });

  it('fails without writing when the architecture does not fit', () => {
    const out = join(dir, 'wrong.safetensors');
    const line = expectCleanFailure(
      cli(['convert', '--arch', 'flatten_pvt_t', '--checkpoint', fixture('pvt_mini', 'checkpoint.pth'), '--out', out]),
    );
    expect(line).toMatch(/does not fit flatten_pvt_t/);
    expect(existsSync(out)).toBe(false);
  });
});
