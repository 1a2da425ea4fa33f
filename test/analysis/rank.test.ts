import { describe, expect, it } from 'vitest';
import { blockAttention, KINDS } from '../../src/analysis/attention.js';
import { numericalRank } from '../../src/analysis/rank.js';
import { readNpy } from '../../src/io/npy.js';
import { FlattenModel } from '../../src/model.js';
import { cli } from '../helpers/cli.js';
import { fixture } from '../helpers/fixtures.js';

/** Eigenvalues of a symmetric matrix by cyclic Jacobi rotations: the test's own SVD route (σ² of MᵀM). */
function jacobiEigenvalues(a: Float64Array, n: number): Float64Array {
  const m = Float64Array.from(a);
  for (let sweep = 0; sweep < 50; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += m[p * n + q] ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++)
      for (let q = p + 1; q < n; q++) {
        const apq = m[p * n + q];
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (m[q * n + q] - m[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const mkp = m[k * n + p];
          const mkq = m[k * n + q];
          m[k * n + p] = c * mkp - s * mkq;
          m[k * n + q] = s * mkp + c * mkq;
        }
        for (let k = 0; k < n; k++) {
          const mpk = m[p * n + k];
          const mqk = m[q * n + k];
          m[p * n + k] = c * mpk - s * mqk;
          m[q * n + k] = s * mpk + c * mqk;
        }
      }
  }
  return Float64Array.from({ length: n }, (_, i) => m[i * n + i]);
}

/** numpy.linalg.matrix_rank on the float32 matrix, through the eigenvalues of MᵀM. */
function directRank(data: Float64Array, n: number): number {
  const g = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += data[k * n + i] * data[k * n + j];
      g[i * n + j] = s;
    }
  const sv = Array.from(jacobiEigenvalues(g, n), (e) => Math.sqrt(Math.max(e, 0)));
  const tol = Math.max(...sv) * n * 1.1920929e-7;
  return sv.filter((s) => s > tol).length;
}

describe('analyze rank', () => {
  it('agrees with a direct SVD on a fixture model, and linear/focused stay within the head dimension', async () => {
    const model = await FlattenModel.load(fixture('swin_mini', 'config.json'), fixture('swin_mini', 'checkpoint.pth'), {
      probe: 'stage1.block1',
      threads: 1,
    });
    const att = await blockAttention(model, readNpy(fixture('images', 'chelsea.crop224.npy')), { stage: 1, block: 1, head: 0, window: 5 });
    await model.dispose();
    expect(att.tokens).toBe(196);
    const ours: Record<string, number> = {};
    for (const kind of KINDS) {
      const a = att.kinds[kind]!;
      ours[kind] = (await numericalRank(a, 1)).rank;
      expect(ours[kind]).toBe(directRank(a.matrix.data, a.matrix.rows));
    }
    console.log(`[rank] swin_mini stage 1 block 1 window 5 head 0: ${JSON.stringify(ours)} (direct SVD agrees)`);
    expect(ours.linear).toBeLessThanOrEqual(att.headDim);
    expect(ours.focused).toBeLessThanOrEqual(att.headDim);
    expect(ours.focused_dwc).toBe(196);
  });

  it('--json prints tokens, head_dim and the four ranks; softmax blocks give null for the linear kinds', () => {
    const model = [
      '--arch',
      fixture('swin_mini', 'config.json'),
      '--checkpoint',
      fixture('swin_mini', 'checkpoint.pth'),
      '--image',
      fixture('images', 'rocket.jpg'),
      '--json',
    ];
    const l = cli(['analyze', 'rank', ...model, '--stage', '2', '--block', '0', '--head', '1']);
    expect(l.status).toBe(0);
    const r = JSON.parse(l.stdout);
    expect(r).toMatchObject({ tokens: 196, head_dim: 16 });
    expect(Object.keys(r.ranks)).toEqual(['softmax', 'linear', 'focused', 'focused_dwc']);
    const s = JSON.parse(cli(['analyze', 'rank', ...model, '--stage', '3', '--block', '1', '--head', '0', '--window', '3']).stdout);
    expect(s.ranks.linear).toBeNull();
    expect(s.ranks.softmax).toBeGreaterThan(0);
  });
});
