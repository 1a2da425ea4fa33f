import { describe, it } from 'vitest';
import { checkCase } from '../../helpers/conformance.js';

describe('FLatten-PVT matches the official outputs', () => {
  it('pvt_mini: linear attention everywhere, no spatial reduction', () => checkCase('pvt_mini'));
  it('pvt_mini_sr: sr 4 and 2 with interpolated V, softmax SRA, p = 2, kernel 3', () => checkCase('pvt_mini_sr'));
});
