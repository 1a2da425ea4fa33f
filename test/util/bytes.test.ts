import { describe, expect, it } from 'vitest';
import { concatBytes } from '../../src/util/bytes.js';

describe('concatBytes', () => {
  it('joins typed arrays and plain byte lists in order', () => {
    expect(Array.from(concatBytes([Uint8Array.of(1, 2), [3], new Uint8Array(0), Uint8Array.of(4)]))).toEqual([1, 2, 3, 4]);
    expect(concatBytes([]).length).toBe(0);
  });
});
