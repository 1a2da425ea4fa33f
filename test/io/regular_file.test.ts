import { spawnSync } from 'node:child_process';
import { mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readRegularFile } from '../../src/io/regular_file.js';

describe('readRegularFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'flatten-regular-'));
  const read =
    (p: string, max = 100) =>
    () =>
      readRegularFile(p, max, 'an image');

  it('reads a regular file whole', () => {
    writeFileSync(join(dir, 'a.bin'), Uint8Array.of(1, 2, 3));
    expect(Array.from(readRegularFile(join(dir, 'a.bin'), 3, 'an image'))).toEqual([1, 2, 3]);
  });

  it('refuses, in one line naming the file, what is not a regular file or is too large', () => {
    symlinkSync('/dev/zero', join(dir, 'zero.png'));
    writeFileSync(join(dir, 'big.png'), new Uint8Array(101));
    expect(read(join(dir, 'zero.png'))).toThrow(/zero\.png: is not a regular file \(a device, pipe or socket\); expected an image$/);
    expect(read(dir)).toThrow(/: is a folder; expected an image$/);
    expect(read(join(dir, 'big.png'))).toThrow(/big\.png: is 101 bytes, more than the 100 bytes accepted for an image$/);
    expect(read(join(dir, 'missing.png'))).toThrow(/missing\.png: no such file$/);
  });

  it.skipIf(spawnSync('mkfifo', ['--version']).status !== 0)('does not hang on a FIFO with no writer', () => {
    spawnSync('mkfifo', [join(dir, 'pipe.png')]);
    expect(read(join(dir, 'pipe.png'))).toThrow(/pipe\.png: is not a regular file/);
  });
});
