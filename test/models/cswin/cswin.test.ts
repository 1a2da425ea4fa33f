import { describe, expect, it } from 'vitest';
import { readNpy } from '../../../src/io/npy.js';
import { FlattenModel } from '../../../src/model.js';
import { checkCase } from '../../helpers/conformance.js';
import { fixture, maxDiff } from '../../helpers/fixtures.js';

describe('FLatten-CSwin matches the official outputs', () => {
  it('cswin_mini: global linear attention with LePE, cross-shaped stripes', () => checkCase('cswin_mini'));
  it('cswin_mini_global: linear attention in every stage', () => checkCase('cswin_mini_global'));

  it('--ema loads the different state_dict_ema weights', async () => {
    const m = await FlattenModel.load(fixture('cswin_mini', 'config.json'), fixture('cswin_mini', 'checkpoint.pth'), {
      ema: true,
      threads: 1,
    });
    const out = await m.predict(readNpy(fixture('cswin_mini', 'input.npy')));
    await m.dispose();
    expect(maxDiff(out.logits.data, readNpy(fixture('cswin_mini', 'logits.npy')).data).max).toBeGreaterThan(1e-3);
  });
});
