import { describe, it } from 'vitest';
import { checkCase } from '../../helpers/conformance.js';

describe('FLatten-Swin matches the official outputs', () => {
  it('swin_mini: LLSS, shifted windows of 14, masks and relative position bias', () => checkCase('swin_mini'));
  it('swin_mini_global: linear attention over whole-stage windows', () => checkCase('swin_mini_global'));
});
