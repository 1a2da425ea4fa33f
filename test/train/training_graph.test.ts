/**
 * The whole training graph of tiny random configurations of every family, every attention kind and
 * the ablation options, against finite differences in float64: the loss onnxruntime computes in
 * float32 against the float64 loss, and each parameter's gradient along a random direction.
 */
import { describe, expect, it } from 'vitest';
import { NCHWC_DOMAIN } from '../../src/graph/nchwc.js';
import { INPUT_NAME } from '../../src/models/define.js';
import { randomWeights } from '../../src/models/init.js';
import { type ArchitectureConfig, resolveArchitecture } from '../../src/models/registry.js';
import type { Tensor } from '../../src/tensor.js';
import { smoothedTargets } from '../../src/train/criterion.js';
import { defineTrainingGraph, gradName, TARGETS_NAME } from '../../src/train/training_graph.js';
import { gradCheck, normalRandom } from '../helpers/gradcheck.js';

const pvtBase = {
  patch_size: 4,
  embed_dims: [8, 16, 16, 16],
  num_heads: [1, 2, 2, 2],
  mlp_ratios: [2, 2, 2, 2],
  depths: [1, 1, 1, 1],
  num_stages: 2,
  num_classes: 5,
  qkv_bias: true,
};

/** Tiny configurations: every family, attention kind, spatial reduction, shift, mask and ablation. */
export const TINY: Record<string, ArchitectureConfig> = {
  'swin L shifted, S': {
    family: 'swin',
    args: {
      img_size: 56,
      embed_dim: 8,
      depths: [2, 1],
      num_heads: [1, 2],
      window_size: 7,
      attn_type: 'LS',
      num_classes: 5,
      drop_path_rate: 0.2,
    },
  },
  'swin S shifted+mask, L, ape': {
    family: 'swin',
    args: { img_size: 56, embed_dim: 8, depths: [2, 1], num_heads: [2, 2], window_size: 7, attn_type: 'SL', num_classes: 5, ape: true },
  },
  'pvt L sr2 (interpolated V), S': {
    family: 'pvt',
    args: { ...pvtBase, img_size: 32, sr_ratios: [2, 1, 1, 1], la_sr_ratios: '21', attn_type: 'LS', focusing_factor: 2, kernel_size: 3 },
  },
  'pvt S sr2, L': { family: 'pvt', args: { ...pvtBase, img_size: 32, sr_ratios: [2, 1, 1, 1], la_sr_ratios: '11', attn_type: 'SL' } },
  'pvt_v2 L, relu kernel, no DWC': {
    family: 'pvt_v2',
    args: { ...pvtBase, img_size: 32, la_sr_ratios: '11', attn_type: 'LL', kernel_function: 'relu', dwc: false },
  },
  'pvt_v2 L sr2, S sr2': {
    family: 'pvt_v2',
    args: { ...pvtBase, img_size: 32, sr_ratios: [2, 2, 1, 1], la_sr_ratios: '21', attn_type: 'LS' },
  },
  'cswin L + LePE, S stripes, S': {
    family: 'cswin',
    args: {
      img_size: 64,
      embed_dim: 8,
      depth: [1, 1, 1, 1],
      split_size: [1, 2, 2, 2],
      la_split_size: '16-8-4-2',
      num_heads: [1, 2, 2, 2],
      attn_type: 'LSSS',
      num_classes: 5,
    },
  },
  'deit L (class token)': {
    family: 'deit',
    args: { img_size: 16, patch_size: 4, embed_dim: 8, depth: 2, num_heads: 2, attn_type: 'L', num_classes: 5 },
  },
  'deit S': { family: 'deit', args: { img_size: 16, patch_size: 4, embed_dim: 8, depth: 1, num_heads: 2, attn_type: 'S', num_classes: 5 } },
};

/** Every tiny configuration, and one again with its depthwise convs on onnxruntime's blocked kernels. */
const RUNS: [string, ArchitectureConfig, boolean][] = [
  ...Object.entries(TINY).map(([label, cfg]): [string, ArchitectureConfig, boolean] => [label, cfg, false]),
  ['pvt_v2 L sr2, S sr2, blocked depthwise kernels', TINY['pvt_v2 L sr2, S sr2'], true],
];

describe('training graphs against finite differences in float64', () => {
  for (const [label, cfg, nchwc] of RUNS) {
    it(
      label,
      async () => {
        const arch = resolveArchitecture(cfg);
        const B = 2;
        const tg = defineTrainingGraph(arch, { batch: B, nchwc });
        // the MLPs' depthwise convs (16 and 32 channels), forward and both gradients, in 2 stages
        if (nchwc) expect(tg.graph.nodes.filter((n) => n.op === 'Conv' && n.domain === NCHWC_DOMAIN)).toHaveLength(6);
        const rnd = normalRandom(3);
        const weights = randomWeights(tg.params, 5);
        // the official init leaves scale and positional encoding at 0; move them so they matter
        for (const p of tg.params)
          if (/(scale|positional_encoding)$/.test(p.name)) weights.get(p.name)!.forEach((_, i, a) => (a[i] = 0.5 * rnd()));
        const feeds = new Map<string, Tensor>();
        const [c, h, w] = tg.inputShape;
        feeds.set(INPUT_NAME, { shape: [B, c, h, w], data: Float32Array.from({ length: B * c * h * w }, () => rnd()) });
        feeds.set(TARGETS_NAME, { shape: [B, tg.numClasses], data: smoothedTargets([1, 3], tg.numClasses, 0.1) });
        for (const p of tg.trained) feeds.set(p.name, { shape: [...p.shape], data: weights.get(p.name)! });
        for (const d of tg.graph.dropPaths)
          feeds.set(d.name, { shape: [...d.shape], data: Float32Array.from({ length: B }, (_, i) => (i === 0 ? 0 : 1.25)) });
        const names = tg.trained.map((p) => p.name);
        const { checks, loss32, loss64 } = await gradCheck(tg.graph, 'loss', names, feeds, { gradOutputs: gradName, h: 1e-6 });
        const worst = checks.reduce((a, k) => (k.scaled > a.scaled ? k : a));
        console.log(
          `[gradcheck] ${label}: ${checks.length} tensors, loss ${loss32.toFixed(6)} (float64 ${loss64.toFixed(6)}), worst ${worst.scaled.toExponential(2)} of the gradient's norm (${worst.input})`,
        );
        expect(Math.abs(loss32 - loss64) / loss64).toBeLessThan(1e-5);
        // float32 gradients against float64 differences (h = 1e-6, small enough not to cross ReLU kinks)
        for (const k of checks) expect(k.scaled, `${k.input}: ${k.analytic} vs ${k.numeric}`).toBeLessThan(1e-3);
      },
      120_000,
    );
  }
});
