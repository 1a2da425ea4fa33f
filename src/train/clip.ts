/**
 * The global gradient norm and its clipping, as `torch.nn.utils.clip_grad_norm_` computes them in
 * float32: the L2 norm of the per-tensor norms, and every gradient scaled by
 * min(1, max_norm / (total + 1e-6)).
 */

const f = Math.fround;

/** The total L2 norm of all gradients (what the official loop logs as `grad_norm`). */
export function totalNorm(grads: Iterable<Float32Array>): number {
  const norms: number[] = [];
  for (const g of grads) {
    let s = 0;
    for (let i = 0; i < g.length; i++) s += g[i] * g[i];
    norms.push(f(Math.sqrt(s)));
  }
  return f(Math.sqrt(norms.reduce((a, n) => a + n * n, 0)));
}

/** Scales the gradients in place so that their total norm is at most `maxNorm`; returns whether it did. */
export function clipGradients(grads: Iterable<Float32Array>, total: number, maxNorm: number): boolean {
  const coef = f(maxNorm / f(total + 1e-6));
  if (coef >= 1) return false;
  for (const g of grads) for (let i = 0; i < g.length; i++) g[i] = f(g[i] * coef);
  return true;
}
