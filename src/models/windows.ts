/**
 * Window partitions as token permutations. Swin's `roll(-shift)` + `window_partition` and CSwin's
 * `img2windows` only reorder tokens, so each becomes one Gather with a constant index list (and its
 * inverse for `window_reverse` / `windows2img`), instead of a chain of 6-D reshapes and transposes.
 */

/**
 * For tokens in row-major order on an H×W grid, the source token of each position after a cyclic
 * shift by `-shift` and a partition into wh×ww windows (windows row-major, tokens row-major inside).
 */
export function windowOrder(H: number, W: number, wh: number, ww: number, shift = 0): number[] {
  const order: number[] = [];
  for (let wr = 0; wr < H / wh; wr++)
    for (let wc = 0; wc < W / ww; wc++)
      for (let i = 0; i < wh; i++) for (let j = 0; j < ww; j++) order.push(((wr * wh + i + shift) % H) * W + ((wc * ww + j + shift) % W));
  return order;
}

/** The inverse of a permutation given as source indices. */
export function inversePermutation(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((src, dst) => (inv[src] = dst));
  return inv;
}

/** True if the permutation leaves every token in place (no Gather needed). */
export function isIdentityPermutation(perm: readonly number[]): boolean {
  return perm.every((v, i) => v === i);
}
