import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { decodeImage } from '../../src/preprocess/decode.js';
import { evalTransform } from '../../src/preprocess/transform.js';
import { ASSETS, pillowReference } from '../helpers/assets.js';
import { fixture } from '../helpers/fixtures.js';

const ref = pillowReference();
const files = [...ref.keys()].filter((k) => !k.includes(':'));

describe('image decoding reproduces Pillow exactly', () => {
  it.each(files)('%s', (f) => {
    const img = decodeImage(readFileSync(join(ASSETS, f)), f);
    expect(img.data.length).toBe(ref.get(f)!.length);
    let differing = 0;
    for (let i = 0; i < img.data.length; i++) if (img.data[i] !== ref.get(f)![i]) differing++;
    expect(differing).toBe(0);
  });

  it('applies EXIF orientation only when asked, as ImageOps.exif_transpose', () => {
    const bytes = readFileSync(join(ASSETS, 'j_exif6.jpg'));
    const raw = decodeImage(bytes, 'j_exif6.jpg');
    const upright = decodeImage(bytes, 'j_exif6.jpg', { exifOrientation: true });
    expect([raw.width, raw.height]).toEqual([43, 29]);
    expect([upright.width, upright.height]).toEqual([29, 43]);
    expect(Buffer.from(upright.data).equals(Buffer.from(ref.get('j_exif6.jpg:upright')!))).toBe(true);
  });

  it('decodes the fixture photographs', () => {
    expect(decodeImage(readFileSync(fixture('images', 'rocket.jpg'))).width).toBe(640);
    expect(decodeImage(readFileSync(fixture('images', 'chelsea.png'))).height).toBe(300);
  });
});

describe('bad image files fail with one line', () => {
  const rocket = readFileSync(fixture('images', 'rocket.jpg'));
  const png = readFileSync(join(ASSETS, 'p_rgba.png'));

  it('a truncated JPEG or PNG', () => {
    expect(() => decodeImage(rocket.subarray(0, 20_000), 'cut.jpg')).toThrow(/cut\.jpg: cannot decode JPEG: the file is truncated/);
    expect(() => decodeImage(png.subarray(0, 200), 'cut.png')).toThrow(/cut\.png: cannot decode PNG/);
  });

  it('a PNG header that declares 30000x30000 pixels over a few bytes, before allocating', () => {
    const bomb = Buffer.from(png.subarray(0, 33));
    bomb.writeUInt32BE(30000, 16);
    bomb.writeUInt32BE(30000, 20);
    expect(() => decodeImage(bomb, 'bomb.png')).toThrow(/30000x30000 is larger than the 89478485 pixels allowed/);
  });

  it('text, GIF and empty files', () => {
    expect(() => decodeImage(Buffer.from('hello'), 'a.png')).toThrow(/a\.png: is not an image; expected a PNG or JPEG file/);
    expect(() => decodeImage(Buffer.from('GIF89a...'), 'a.gif')).toThrow(/is a GIF, BMP or WebP file/);
    expect(() => decodeImage(new Uint8Array(0), 'e.jpg')).toThrow(/is empty/);
  });

  it('arithmetic-coded and 12-bit JPEGs', () => {
    const sof = rocket.indexOf(Buffer.from([0xff, 0xc0]));
    const arith = Buffer.from(rocket);
    arith[sof + 1] = 0xc9;
    expect(() => decodeImage(arith, 'a.jpg')).toThrow(/arithmetic-coded JPEGs are not supported/);
    const deep = Buffer.from(rocket);
    deep[sof + 4] = 12;
    expect(() => decodeImage(deep, 'd.jpg')).toThrow(/12-bit samples are not supported/);
  });

  it('a 1x1 image works all the way to a model input', () => {
    const one = new PNG({ width: 1, height: 1 });
    one.data.set([200, 100, 50, 255]);
    const img = decodeImage(PNG.sync.write(one), 'one.png');
    expect(Array.from(img.data)).toEqual([200, 100, 50]);
    const x = evalTransform(img, { size: 224 });
    expect(x.shape).toEqual([1, 3, 224, 224]);
    expect(x.data[0]).toBeCloseTo((200 / 255 - 0.485) / 0.229, 5);
  });
});
