import { describe, expect, it } from 'vitest';
import { crc32, crc32Portable } from '../../src/util/crc32.js';

describe('crc32', () => {
  const text = new TextEncoder().encode('123456789');
  it('gives the standard check value, in one piece and continued over chunks', () => {
    for (const f of [crc32, crc32Portable]) {
      expect(f(text).toString(16)).toBe('cbf43926');
      expect(f(text.subarray(4), f(text.subarray(0, 4)))).toBe(0xcbf43926);
      expect(f(new Uint8Array(0))).toBe(0);
    }
  });

  it('agrees between the native and the portable paths on odd lengths and offsets', () => {
    const data = new Uint8Array(100_003);
    for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 24;
    for (const [a, b] of [
      [0, data.length],
      [3, 70_001],
      [17, 18],
    ]) {
      expect(crc32Portable(data.subarray(a, b))).toBe(crc32(data.subarray(a, b)));
    }
  });
});
