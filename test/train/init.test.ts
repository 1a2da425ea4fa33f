import { describe, expect, it } from 'vitest';
import { resolveArchitectureSpec } from '../../src/models/config_file.js';
import { defineModel } from '../../src/models/define.js';
import { initialWeights } from '../../src/train/init.js';
import { fixture } from '../helpers/fixtures.js';

/** Mean and standard deviation of a tensor. */
function stats(d: Float32Array): { mean: number; std: number; max: number } {
  const mean = d.reduce((a, b) => a + b, 0) / d.length;
  const std = Math.sqrt(d.reduce((a, b) => a + (b - mean) ** 2, 0) / d.length);
  return { mean, std, max: d.reduce((a, b) => Math.max(a, Math.abs(b)), 0) };
}

function weightsOf(caseName: string) {
  const arch = resolveArchitectureSpec(fixture(caseName, 'config.json'));
  const def = defineModel(arch);
  const w = initialWeights(def.params, arch.family, 0);
  return (official: string) => {
    const p = def.params.find((q) => q.official === official);
    if (!p) throw new Error(`no parameter ${official}`);
    return { shape: p.shape, ...stats(w.get(p.name)!) };
  };
}

describe("initial weights as the official constructors' _init_weights leave them", () => {
  it('PVTv2: Linear N(0, 0.02²), LayerNorm 1/0, convolutions N(0, 2/fan_out) with zero bias, scale and positional encoding 0', () => {
    const w = weightsOf('pvt_v2_mini');
    const fc1 = w('block1.0.mlp.fc1.weight');
    expect(fc1.std).toBeGreaterThan(0.018);
    expect(fc1.std).toBeLessThan(0.022);
    expect(w('block1.0.mlp.fc1.bias').max).toBe(0);
    expect(w('norm1.weight')).toMatchObject({ mean: 1, std: 0 });
    // the MLP's depthwise 3×3 conv: fan_out = 9 · C / C
    const dw = w('block1.0.mlp.dwconv.dwconv.weight');
    expect(dw.std / Math.sqrt(2 / 9)).toBeGreaterThan(0.85);
    expect(dw.std / Math.sqrt(2 / 9)).toBeLessThan(1.15);
    expect(w('block1.0.mlp.dwconv.dwconv.bias').max).toBe(0);
    // the patch embedding: a dense 7×7 conv, fan_out = 49 · 16
    const embed = w('patch_embed1.proj.weight');
    expect(embed.std / Math.sqrt(2 / (49 * 16))).toBeGreaterThan(0.9);
    expect(embed.std / Math.sqrt(2 / (49 * 16))).toBeLessThan(1.1);
    expect(w('block1.0.attn.scale').max).toBe(0);
    expect(w('block1.0.attn.positional_encoding').max).toBe(0);
  });

  it("Swin: convolutions keep PyTorch's default U(±1/√fan_in), bias too; the relative position bias table N(0, 0.02²)", () => {
    const w = weightsOf('swin_mini');
    const embed = w('patch_embed.proj.weight');
    const fanIn = embed.shape[1] * embed.shape[2] * embed.shape[3];
    // U(−b, b) has standard deviation b/√3
    expect(embed.std / (1 / Math.sqrt(fanIn) / Math.sqrt(3))).toBeGreaterThan(0.9);
    expect(embed.std / (1 / Math.sqrt(fanIn) / Math.sqrt(3))).toBeLessThan(1.1);
    expect(embed.max).toBeLessThanOrEqual(1 / Math.sqrt(fanIn));
    const bias = w('patch_embed.proj.bias');
    expect(bias.max).toBeGreaterThan(0);
    expect(bias.max).toBeLessThanOrEqual(1 / Math.sqrt(fanIn));
    const rpb = w('layers.2.blocks.0.attn.relative_position_bias_table');
    expect(rpb.std).toBeGreaterThan(0.015);
    expect(rpb.std).toBeLessThan(0.025);
  });
});
