import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attentionRows, blockAttention, KINDS, locateToken, rowOnStage, stageGrid } from '../../src/analysis/attention.js';
import { readNpy } from '../../src/io/npy.js';
import { FlattenModel } from '../../src/model.js';
import { fixture } from '../helpers/fixtures.js';

describe('attention rows (what the demo draws)', () => {
  let model: FlattenModel;
  const input = () => readNpy(fixture('images', 'chelsea.crop224.npy'));
  beforeAll(async () => {
    // swin_mini stage 1: a 56×56 grid in 14×14 windows; block 1 is shifted by 7.
    model = await FlattenModel.load(fixture('swin_mini', 'config.json'), fixture('swin_mini', 'checkpoint.pth'), {
      probe: 'stage1.block1',
      threads: 1,
    });
  });
  afterAll(() => model.dispose());

  it('equal the rows of the full attention matrices, for every kind', async () => {
    const sel = { stage: 1, block: 1, head: 0, window: 5 };
    const full = await blockAttention(model, input(), sel);
    let worst = 0;
    for (const token of [0, 97, 195]) {
      const rows = await attentionRows(model, input(), sel, token);
      for (const kind of KINDS) {
        const m = full.kinds[kind]!.matrix;
        const r = rows[kind]!;
        expect(r.length).toBe(m.cols);
        expect(r.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
        for (let j = 0; j < m.cols; j++) worst = Math.max(worst, Math.abs(r[j] - m.data[token * m.cols + j]));
      }
    }
    console.log(`[attention rows] max |row - matrix row| = ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-6);
  });

  it('locate stage tokens in the shifted windows the way the cyclic shift places them', () => {
    const probe = model.definition.probe!;
    const [H, W] = stageGrid(probe);
    expect([H, W]).toEqual([56, 56]);
    const w = 14;
    const shift = 7;
    const seen = new Set<string>();
    for (let r = 0; r < H; r++)
      for (let c = 0; c < W; c++) {
        const { window, token } = locateToken(probe, r * W + c);
        // torch.roll(x, -shift) moves stage (r, c) to ((r - shift) mod H, (c - shift) mod W).
        const rs = (r - shift + H) % H;
        const cs = (c - shift + W) % W;
        expect(window).toBe(Math.floor(rs / w) * (W / w) + Math.floor(cs / w));
        expect(token).toBe((rs % w) * w + (cs % w));
        seen.add(`${window}:${token}`);
      }
    expect(seen.size).toBe(H * W);
  });

  it('spread a window row back onto the stage grid at the tokens of that window', () => {
    const probe = model.definition.probe!;
    const row = Float64Array.from({ length: 196 }, (_, j) => j + 1);
    const stage = rowOnStage(probe, 5, row);
    let placed = 0;
    stage.forEach((v, i) => {
      if (v === 0) return;
      placed++;
      expect(locateToken(probe, i)).toEqual({ window: 5, token: v - 1 });
    });
    expect(placed).toBe(196);
  });

  it('reject a token outside the window with a usage error', async () => {
    await expect(attentionRows(model, input(), { stage: 1, block: 1, head: 0 }, 196)).rejects.toThrow(
      /token 196 does not exist: the window has 196 tokens/,
    );
  });
});
