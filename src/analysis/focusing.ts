/**
 * The focusing function f_p (the paper's Eq. 5 and Fig. 4): f_p(x) = ‖x‖ · x^p / ‖x^p‖ for
 * non-negative x, which keeps the norm and pulls the direction towards the largest axis. Its figure
 * (charts.ts) shows 2-D vectors before and after f_p for several p.
 */

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
