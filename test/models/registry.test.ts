import { describe, expect, it } from 'vitest';
import { countParams, defineModel } from '../../src/models/define.js';
import { registeredNames, resolveArchitecture } from '../../src/models/registry.js';

/** Exact counts of the official models (SPEC.md §9). */
const OFFICIAL = { flatten_swin_t: 29_192_384, flatten_pvt_t: 12_150_504, flatten_pvt_v2_b0: 3_594_824, flatten_cswin_t: 21_201_768 };

/** The paper's rounded counts, in millions (SPEC.md §9). */
const PAPER: Record<string, number> = {
  flatten_pvt_s: 21.7,
  flatten_pvt_v2_b1: 12.9,
  flatten_pvt_v2_b2: 22.6,
  flatten_swin_s: 51,
  flatten_swin_b: 89,
  flatten_swin_b_384: 91,
  flatten_cswin_s: 35,
  flatten_cswin_b: 75,
  flatten_cswin_b_384: 78,
};

describe('the registry', () => {
  it('registers every released variant', () => {
    const expected = [
      ...['t', 's', 'm', 'l'].map((s) => `flatten_pvt_${s}`),
      ...[0, 1, 2, 3, 4, 5].map((i) => `flatten_pvt_v2_b${i}`),
      ...['t', 's', 'b', 'b_384'].map((s) => `flatten_swin_${s}`),
      ...['t', 's', 'b', 'b_384'].map((s) => `flatten_cswin_${s}`),
      ...['deit_t', 'deit_s', 'flatten_deit_t', 'flatten_deit_s'],
    ];
    expect(registeredNames().sort()).toEqual(expected.sort());
  });

  it.each(Object.entries(OFFICIAL))('%s has exactly the official parameter count', (name, n) => {
    expect(countParams(defineModel(resolveArchitecture(name)).params)).toBe(n);
  });

  it.each(Object.entries(PAPER))('%s is within 2%% of the paper count (%sM)', (name, m) => {
    const n = countParams(defineModel(resolveArchitecture(name)).params);
    expect(Math.abs(n / 1e6 - m) / m).toBeLessThan(0.02);
  });

  it("FLatten-DeiT-T has 6.1M ± 0.1M parameters and DeiT-T exactly timm's 5,717,416", () => {
    const n = countParams(defineModel(resolveArchitecture('flatten_deit_t')).params);
    console.log(`[info] flatten_deit_t: ${(n / 1e6).toFixed(3)}M parameters`);
    expect(Math.abs(n / 1e6 - 6.1)).toBeLessThanOrEqual(0.1);
    expect(countParams(defineModel(resolveArchitecture('deit_t')).params)).toBe(5_717_416);
  });

  it('ablation options change the attention and keep checkpoint keys where shapes fit', () => {
    const base = defineModel(resolveArchitecture({ family: 'pvt', args: { patch_size: 4, depths: [1, 1, 1, 1], la_sr_ratios: '1111' } }));
    const noDwc = defineModel(
      resolveArchitecture({ family: 'pvt', args: { patch_size: 4, depths: [1, 1, 1, 1], la_sr_ratios: '1111', dwc: false } }),
    );
    const relu = defineModel(
      resolveArchitecture({ family: 'pvt', args: { patch_size: 4, depths: [1, 1, 1, 1], la_sr_ratios: '1111', kernel_function: 'relu' } }),
    );
    const names = (d: typeof base) => d.params.map((p) => p.official);
    expect(names(base).filter((n) => n.includes('dwc'))).toHaveLength(8);
    expect(names(noDwc)).toEqual(names(base).filter((n) => !n.includes('dwc')));
    expect(names(relu)).toEqual(names(base));
    expect(relu.graph.nodes.filter((n) => n.op === 'Pow')).toHaveLength(0);
    expect(
      () =>
        resolveArchitecture({ family: 'swin', args: { kernel_function: 'softmax' } }) &&
        defineModel(resolveArchitecture({ family: 'swin', args: { kernel_function: 'softmax' } })),
    ).toThrow(/kernel_function must be 'focused' or 'relu'/);
  });

  it('builds architectures from official constructor arguments', () => {
    const a = resolveArchitecture({
      family: 'swin',
      args: { embed_dim: 32, depths: [2, 2, 2, 2], num_heads: [1, 2, 4, 8], window_size: 56, attn_type: 'LLMS1' },
    });
    expect(a.args.mlp_ratio).toBe(4);
    expect(defineModel(a).params.some((p) => p.official === 'layers.2.blocks.1.attn.relative_position_bias_table')).toBe(true);
    expect(defineModel(a).params.some((p) => p.official === 'layers.2.blocks.0.attn.positional_encoding')).toBe(true);
  });

  it('explains arguments the official constructors reject', () => {
    expect(() => resolveArchitecture({ family: 'pvt', args: { embed_dim: 3 } })).toThrow(/unknown argument 'embed_dim'/);
    expect(() => resolveArchitecture({ family: 'cswin', args: { depth: 'x' } })).toThrow(/'depth' must be a list of integers/);
    expect(() => resolveArchitecture('flatten_swin_q')).toThrow(/unknown architecture 'flatten_swin_q'/);
    expect(() => defineModel(resolveArchitecture({ family: 'cswin', args: { la_split_size: '7-7-7-7', attn_type: 'LLLL' } }))).toThrow(
      /focused linear attention in stripes breaks the official code/,
    );
    expect(() => defineModel(resolveArchitecture({ family: 'swin', args: { window_size: 5 } }))).toThrow(
      /cannot be split into 5x5 windows/,
    );
    expect(() => defineModel(resolveArchitecture({ family: 'pvt_v2', args: { linear: true, la_sr_ratios: '1111' } }))).toThrow(
      /linear=True pools keys to 7x7/,
    );
  });

  it('keeps ignored swin arguments, as **kwargs does', () => {
    expect(resolveArchitecture({ family: 'swin', args: { frobnicate: 1 } }).ignoredArgs).toEqual(['frobnicate']);
  });
});
