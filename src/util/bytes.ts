/**
 * Joining byte arrays, as file writers (PNG, zip) and the test corpus builders need it.
 */

/**
 * The bytes of `parts`, one after another, in a new array.
 *
 * @example
 * ```ts
 * concatBytes([Uint8Array.of(1, 2), [3]]); // Uint8Array [1, 2, 3]
 * ```
 */
export function concatBytes(parts: readonly (Uint8Array | readonly number[])[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
