/** The protobuf writer the ONNX serializer is built on. */
import { describe, expect, it } from 'vitest';
import { PbWriter } from '../../src/graph/protobuf.js';

describe('PbWriter', () => {
  it('nests a message of more parts than a call can take as arguments (a large training graph)', () => {
    const inner = new PbWriter();
    const data = Uint8Array.of(7, 8, 9);
    const count = 300_000;
    for (let i = 0; i < count; i++) inner.bytes(1, data);
    const out = new PbWriter().message(2, inner).finish();
    // field 2 tag, length 1,500,000 as a varint (3 bytes), then (tag, length 3, 7 8 9) per field
    expect(out.length).toBe(1 + 3 + 5 * count);
    expect(Array.from(out.subarray(0, 4))).toEqual([0x12, 0xe0, 0xc6, 0x5b]);
    expect(Array.from(out.subarray(out.length - 5))).toEqual([0x0a, 3, 7, 8, 9]);
  });
});
