import { describe, expect, it } from 'vitest';
import { describeMismatch, isExactFit, mapStateDict } from '../../src/models/mapping.js';

const params = [
  { name: 'stage1.block0.attn.q.weight', official: 'block1.0.attn.q.weight', shape: [4, 4] },
  { name: 'head.weight', official: 'head.weight', shape: [10, 4] },
];

describe('checkpoint mapping', () => {
  it('maps official keys and ignores derived buffers', () => {
    const r = mapStateDict(
      params,
      new Map([
        ['block1.0.attn.q.weight', [4, 4]],
        ['head.weight', [10, 4]],
        ['layers.0.blocks.1.attn_mask', [4, 49, 49]],
      ]),
    );
    expect(r.style).toBe('official');
    expect(isExactFit(r)).toBe(true);
    expect(r.sources.get('stage1.block0.attn.q.weight')).toBe('block1.0.attn.q.weight');
    expect(r.ignoredBuffers).toEqual(['layers.0.blocks.1.attn_mask']);
  });

  it("maps flatten-vit's own names", () => {
    const r = mapStateDict(
      params,
      new Map([
        ['stage1.block0.attn.q.weight', [4, 4]],
        ['head.weight', [10, 4]],
      ]),
    );
    expect(r.style).toBe('ours');
    expect(isExactFit(r)).toBe(true);
  });

  it('reports missing, unexpected and mismatched keys with shapes', () => {
    const r = mapStateDict(
      params,
      new Map([
        ['head.weight', [1000, 4]],
        ['head_dist.weight', [10, 4]],
      ]),
    );
    expect(r.missing).toEqual([{ key: 'block1.0.attn.q.weight', shape: [4, 4] }]);
    expect(r.unexpected).toEqual([{ key: 'head_dist.weight', shape: [10, 4] }]);
    expect(r.mismatched).toEqual([{ key: 'head.weight', expected: [10, 4], found: [1000, 4] }]);
    expect(describeMismatch(r)).toBe(
      '1 missing key(s): block1.0.attn.q.weight (4, 4); 1 unexpected key(s): head_dist.weight (10, 4); 1 shape mismatch(es): head.weight checkpoint (1000, 4) vs model (10, 4)',
    );
  });
});
