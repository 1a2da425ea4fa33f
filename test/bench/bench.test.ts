import { describe, expect, it } from 'vitest';
import { agreement } from '../../src/bench/agreement.js';
import { attentionScaling } from '../../src/bench/attention.js';
import { benchModel } from '../../src/bench/throughput.js';
import { cli } from '../helpers/cli.js';
import { join } from 'node:path';
import { fixture, fixturesDir } from '../helpers/fixtures.js';

describe('bench', () => {
  it('reports throughput per batch, GEMM rate, MACs, load time and memory', async () => {
    const r = await benchModel(fixture('pvt_mini', 'config.json'), { batches: [1, 2], seconds: 0.2, threads: 1 });
    expect(r.results.map((x) => x.batch)).toEqual([1, 2]);
    for (const x of r.results) {
      expect(x.images_per_s).toBeGreaterThan(0);
      expect(x.latency_ms * x.images_per_s).toBeCloseTo(1000 * x.batch, 6);
      expect(x.fraction_of_gemm).toBeCloseTo(x.gflops / r.gemm_gflops, 9);
      expect(x.fraction_of_floor).toBeCloseTo(x.gflops / r.floor_gflops!, 9);
    }
    expect(r.gemm_gflops).toBeGreaterThan(0);
    expect(r.floor_gflops).toBeGreaterThan(0);
    expect(r.floor_batch).toBe(2);
    expect(r.macs).toBeGreaterThan(0);
    expect(r.peak_rss_mb).toBeGreaterThan(10);
    console.log(
      `[bench] pvt_mini, 1 thread: ${r.results.map((x) => `b${x.batch} ${x.images_per_s.toFixed(0)} img/s`).join(', ')}; GEMM ${r.gemm_gflops.toFixed(0)} GFLOP/s, floor ${r.floor_gflops!.toFixed(0)} GFLOP/s`,
    );
  });

  it('bench --profile --json adds the kernel time per op type, and names the provider', () => {
    const r = cli([
      'bench',
      '--arch',
      fixture('swin_mini', 'config.json'),
      '--batch',
      '1,2',
      '--seconds',
      '0.2',
      '--threads',
      '1',
      '--profile',
      '--json',
    ]);
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as {
      ep: string;
      adapter: string | null;
      profile: { batch: number; runs: number; total_ms: number; ops: { op: string; ms: number; share: number; nodes: number }[] };
    };
    expect([j.ep, j.adapter]).toEqual(['cpu', null]);
    expect(j.profile.batch).toBe(2);
    const ops = j.profile.ops;
    expect(ops.map((o) => o.op)).toEqual(expect.arrayContaining(['MatMul', 'LayerNormalization', 'Softmax']));
    expect(ops.reduce((a, o) => a + o.share, 0)).toBeCloseTo(1, 6);
    expect(ops.reduce((a, o) => a + o.ms, 0)).toBeCloseTo(j.profile.total_ms, 6);
    for (let i = 1; i < ops.length; i++) expect(ops[i].ms).toBeLessThanOrEqual(ops[i - 1].ms);
    console.log(
      `[bench] swin_mini profile at batch 2: ${ops
        .slice(0, 4)
        .map((o) => `${o.op} ${(100 * o.share).toFixed(0)}%`)
        .join(', ')}`,
    );
  });

  it('bench --train --json times training steps and reports the documented keys', () => {
    const r = cli([
      'bench',
      '--train',
      '--arch',
      fixture('pvt_v2_mini', 'config.json'),
      '--batch',
      '2',
      '--seconds',
      '0.5',
      '--threads',
      '1',
      '--json',
    ]);
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as Record<string, number>;
    for (const k of [
      'arch',
      'batch',
      'threads',
      'images_per_s',
      'step_ms',
      'peak_rss_mb',
      'live_tensors_peak_mb',
      'gemm_gflops',
      'fraction_of_gemm',
      'products_images_per_s',
      'fraction_of_products',
      'bound_images_per_s',
      'fraction_of_bound',
    ])
      expect(j).toHaveProperty(k);
    expect(j.batch).toBe(2);
    expect(j.images_per_s * j.step_ms).toBeCloseTo(2000, 6);
    expect(j.fraction_of_gemm).toBeCloseTo(j.gflops / j.gemm_gflops, 9);
    expect(j.fraction_of_products).toBeCloseTo(j.images_per_s / j.products_images_per_s, 9);
    expect(j.fraction_of_bound).toBeCloseTo(j.images_per_s / j.bound_images_per_s, 9);
    // the step's tensors are part of its resident memory, and far from nothing
    expect(j.live_tensors_peak_mb).toBeGreaterThan(1);
    expect(j.live_tensors_peak_mb).toBeLessThan(j.peak_rss_mb);
    // rates, not their order: the step and its products are timed at different moments, and on a
    // loaded machine (tests run in parallel) either can be the slower one (which is the faster is the
    // benchmark's to say, not this test's)
    for (const k of ['images_per_s', 'products_images_per_s', 'bound_images_per_s'] as const) {
      expect(Number.isFinite(j[k])).toBe(true);
      expect(j[k]).toBeGreaterThan(0);
    }
    console.log(
      `[bench] pvt_v2_mini training step, batch 2, 1 thread: ${j.images_per_s.toFixed(1)} img/s, ${(100 * j.fraction_of_gemm).toFixed(1)}% of GEMM, ${(100 * j.fraction_of_products).toFixed(0)}% of its products alone (${j.products_images_per_s.toFixed(1)} img/s), ${(100 * j.fraction_of_bound).toFixed(0)}% of its bound (${j.bound_images_per_s.toFixed(1)} img/s)`,
    );
  }, 60_000);

  it('bench --json prints exactly one object with the documented keys', () => {
    const r = cli(['bench', '--arch', fixture('pvt_mini', 'config.json'), '--batch', '1', '--seconds', '0.2', '--threads', '1', '--json']);
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout);
    for (const k of ['arch', 'threads', 'results', 'gemm_gflops', 'floor_gflops', 'floor_batch', 'macs', 'load_s', 'peak_rss_mb'])
      expect(j).toHaveProperty(k);
    expect(Object.keys(j.results[0])).toEqual(expect.arrayContaining(['batch', 'images_per_s', 'latency_ms', 'fraction_of_floor']));
  });

  it('times linear and softmax attention and skips what would not fit in memory', async () => {
    const r = await attentionScaling({ sides: [8, 16, 32], seconds: 0.05, memoryBudgetBytes: 2 * 3 * 256 ** 2 * 4 + 1 });
    expect(r.rows.map((x) => x.tokens)).toEqual([64, 256, 1024]);
    expect(r.rows[2].softmax_ms).toBeNull();
    expect(r.rows[2].softmax_skipped).toMatch(/needs 0\.0 GiB for its 3×1024×1024 attention matrices/);
    expect(r.linear_growth_per_doubling).toBeGreaterThan(0);
    expect(r.softmax_growth_per_doubling).toBeGreaterThan(0);
  });

  it('int8 agrees with float32 on the fixture photographs', async () => {
    const a = await agreement(
      fixture('swin_mini', 'config.json'),
      fixture('swin_mini', 'checkpoint.pth'),
      1,
      join(fixturesDir(), 'images'),
    );
    console.log(
      `[bench] swin_mini int8 vs fp32 on ${a.source}: top-1 agreement ${a.top1_agreement}, min cosine ${a.min_cosine.toFixed(6)}`,
    );
    expect(a.source).toBe('fixture photographs');
    expect(a.images).toBe(2);
    expect(a.min_cosine).toBeGreaterThan(0.99);
  });
});
