import { describe, expect, it } from 'vitest';
import { openCheckpoint } from '../../src/checkpoint/open.js';
import { encodeSafetensors } from '../../src/checkpoint/safetensors.js';

describe('safetensors', () => {
  const tensors = new Map([
    ['b.bias', { shape: [2], data: new Float32Array([1, -2]) }],
    ['a.weight', { shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) }],
  ]);

  it('round-trips float32 tensors with metadata and an aligned header', () => {
    const bytes = encodeSafetensors(tensors, { arch: 'x' });
    const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + headerLen) % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen)));
    expect(header.__metadata__).toEqual({ arch: 'x' });
    expect(Object.keys(header).filter((k) => k !== '__metadata__')).toEqual(['a.weight', 'b.bias']);
    const sd = openCheckpoint(bytes, { name: 'w.safetensors' });
    expect(sd.format).toBe('safetensors');
    expect(sd.tensors.get('a.weight')!.shape).toEqual([2, 3]);
    expect(Array.from(sd.tensors.get('a.weight')!.read())).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(sd.tensors.get('b.bias')!.read())).toEqual([1, -2]);
  });

  it('rejects truncated data and lying headers', () => {
    const bytes = encodeSafetensors(tensors);
    expect(() => openCheckpoint(bytes.subarray(0, bytes.length - 4), { name: 'w.safetensors' })).toThrow(/lies outside the file/);
    const header = new TextEncoder().encode(JSON.stringify({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 8] } }));
    const lie = new Uint8Array(8 + header.length + 8);
    new DataView(lie.buffer).setBigUint64(0, BigInt(header.length), true);
    lie.set(header, 8);
    expect(() => openCheckpoint(lie, { name: 'w.safetensors' })).toThrow(/needs 16 bytes but spans 8/);
  });
});
