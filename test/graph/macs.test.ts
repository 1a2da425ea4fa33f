import { describe, expect, it } from 'vitest';
import { countMacs } from '../../src/graph/macs.js';
import { countParams, defineModel } from '../../src/models/define.js';
import { PAPER } from '../../src/models/paper.js';
import { registeredNames, resolveArchitecture } from '../../src/models/registry.js';

describe('MACs counted from the graph', () => {
  const rows = registeredNames().filter((n) => PAPER[n]?.flops);
  it.each(rows)('%s is within 5%% of the paper', (name) => {
    const def = defineModel(resolveArchitecture(name));
    const g = countMacs(def.graph) / 1e9;
    const paper = PAPER[name];
    console.log(
      `[info] ${name}: ${g.toFixed(2)}G MACs (paper ${paper.flops}G), ${(countParams(def.params) / 1e6).toFixed(2)}M params (paper ${paper.params}M)`,
    );
    expect(Math.abs(g - paper.flops!) / paper.flops!).toBeLessThan(0.05);
  });
});
