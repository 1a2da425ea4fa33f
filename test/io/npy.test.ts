import { describe, expect, it } from 'vitest';
import { decodeNpy, encodeNpy } from '../../src/io/npy.js';
import { fixture } from '../helpers/fixtures.js';
import { readNpy } from '../../src/io/npy.js';

describe('.npy files', () => {
  it('reads the fixtures and round-trips float32', () => {
    const x = readNpy(fixture('pvt_mini', 'input.npy'));
    expect(x.shape).toEqual([2, 3, 64, 64]);
    const y = decodeNpy(encodeNpy(x));
    expect(y.shape).toEqual(x.shape);
    expect(y.data).toEqual(x.data);
    expect((encodeNpy(x).length - x.data.byteLength) % 64).toBe(0);
  });

  it('rejects a header that claims more data than the file holds', () => {
    const good = encodeNpy({ shape: [2, 2], data: new Float32Array(4) });
    const bad = good.slice();
    const text = new TextDecoder().decode(bad.subarray(10, 80)).replace('(2, 2)', '(9, 2)');
    bad.set(new TextEncoder().encode(text), 10);
    expect(() => decodeNpy(bad, 'x.npy')).toThrow(
      /x\.npy: is not a valid \.npy file: header declares \(9, 2\) <f4 \(72 bytes of data\) but the file holds 16/,
    );
  });

  it('rejects other files with a one-line reason', () => {
    expect(() => decodeNpy(new TextEncoder().encode('not numpy at all'), 'x.npy')).toThrow(/missing the \\x93NUMPY magic/);
    const fortran = encodeNpy({ shape: [2], data: new Float32Array(2) });
    const at = Buffer.from(fortran).indexOf('False');
    fortran.set(new TextEncoder().encode('True '), at);
    expect(() => decodeNpy(fortran, 'x.npy')).toThrow(/Fortran/);
  });

  it('parses the header as the Python literal numpy writes, refusing anything else', () => {
    const withShape = (shape: string) => {
      let h = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`;
      h += `${' '.repeat((64 - ((10 + h.length + 1) % 64)) % 64)}\n`;
      const out = new Uint8Array(10 + h.length + 16);
      out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
      new DataView(out.buffer).setUint16(8, h.length, true);
      out.set(new TextEncoder().encode(h), 10);
      return out;
    };
    expect(decodeNpy(withShape('(2, 2)'), 'x.npy').shape).toEqual([2, 2]);
    expect(decodeNpy(withShape('(4,)'), 'x.npy').shape).toEqual([4]);
    expect(() => decodeNpy(withShape('(4)'), 'x.npy')).toThrow(/one-element shape without its comma/);
    expect(() => decodeNpy(withShape('(0x1, 4)'), 'x.npy')).toThrow(/not a plain decimal integer at character/);
    expect(() => decodeNpy(withShape('(2.0, 2)'), 'x.npy')).toThrow(/not a plain decimal integer/);
    expect(() => decodeNpy(withShape('(02, 2)'), 'x.npy')).toThrow(/not a plain decimal integer/);
    expect(() => decodeNpy(withShape(`(${'1, '.repeat(40)})`), 'x.npy')).toThrow(/more than 32 dimensions/);
  });
});
