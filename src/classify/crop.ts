/**
 * Whether the official evaluation center-crops for a model (its config's `TEST.CROP`), shared by Node
 * and the browser.
 */

/** Registered 384 models whose official config sets `TEST.CROP: False` (resize to 384 without crop). */
const NO_CROP = new Set(['flatten_swin_b_384']);

/**
 * Whether the official evaluation crops for this model.
 *
 * @example
 * ```ts
 * officialCrop({ name: 'flatten_swin_b_384' }); // false
 * ```
 */
export function officialCrop(model: { readonly name: string }): boolean {
  return !NO_CROP.has(model.name);
}
