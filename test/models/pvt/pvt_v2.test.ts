import { describe, it } from 'vitest';
import { checkCase } from '../../helpers/conformance.js';

describe('FLatten-PVTv2 matches the official outputs', () => {
  it('pvt_v2_mini: overlapping patch embeddings, DWConv MLP, per-stage norms', () => checkCase('pvt_v2_mini'));
});
