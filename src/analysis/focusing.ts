/**
 * The focusing function f_p (the paper's Eq. 5 and Fig. 4): f_p(x) = ‖x‖ · x^p / ‖x^p‖ for
 * non-negative x, which keeps the norm and pulls the direction towards the largest axis. Its figure
 * shows 2-D vectors before and after f_p for several p.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { seededRandom } from '../models/init.js';
import { Canvas, encodePng } from './draw.js';

/** f_p of a non-negative vector, computed without overflow for large p. */
export function fp(x: readonly number[], p: number): number[] {
  const max = Math.max(...x);
  if (max <= 0) return x.map(() => 0);
  const norm = Math.hypot(...x);
  const pw = x.map((v) => (v / max) ** p);
  const pn = Math.hypot(...pw);
  return pw.map((v) => (v / pn) * norm);
}

/** Inner product. */
export function dot(a: readonly number[], b: readonly number[]): number {
  return a.reduce((s, v, i) => s + v * b[i], 0);
}

/** The values of p in the paper's figure. */
export const FP_POWERS = [1, 2, 3, 5, 10];

/**
 * Draws the figure: one panel per p, with 2-D vectors (grey) and their images under f_p (blue).
 *
 * @example
 * ```ts
 * const file = drawFocusingFunction('figures'); // figures/fp.png
 * ```
 */
export function drawFocusingFunction(outDir: string, powers = FP_POWERS): string {
  const size = 220;
  const pad = 20;
  const top = 30;
  const canvas = new Canvas(powers.length * (size + pad) + pad, size + pad * 2 + top);
  const rnd = seededRandom(4);
  const vectors = Array.from({ length: 14 }, () => {
    const angle = (rnd() * Math.PI) / 2;
    const r = 0.35 + 0.6 * rnd();
    return [r * Math.cos(angle), r * Math.sin(angle)];
  });
  powers.forEach((p, i) => {
    const x0 = pad + i * (size + pad);
    const y0 = top + pad + size;
    const at = (v: number[]): [number, number] => [x0 + v[0] * size, y0 - v[1] * size];
    canvas.label(`p = ${p}`, x0 + size / 2, 8);
    canvas.line(x0, y0, x0 + size, y0, [120, 120, 120]);
    canvas.line(x0, y0, x0, y0 - size, [120, 120, 120]);
    for (let a = 0; a <= 90; a += 1) {
      const [x, y] = at([Math.cos((a * Math.PI) / 180), Math.sin((a * Math.PI) / 180)]);
      canvas.set(x, y, [200, 200, 200]);
    }
    for (const v of vectors) {
      const [x, y] = at(v);
      canvas.line(x0, y0, x, y, [190, 190, 190]);
      const f = fp(v, p);
      const [fx, fy] = at(f);
      canvas.line(x0, y0, fx, fy, [33, 113, 181], 2);
      canvas.disc(fx, fy, 3, [8, 48, 107]);
    }
  });
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, 'fp.png');
  writeFileSync(file, encodePng(canvas.image()));
  return file;
}
