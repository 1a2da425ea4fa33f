/**
 * Checkpoint mapping: a pure function from a state dict's keys and shapes to our parameters, like
 * timm's `checkpoint_filter_fn`. It accepts the official key names (what the released `.pth` files
 * use) or ours (what `flatten-vit convert` writes), and reports missing keys, unexpected keys and
 * shape mismatches with their shapes. Derived buffers (`relative_position_index`, `attn_mask`) are
 * rebuilt from the architecture, so their presence or absence is never an error.
 */
import type { ParamSpec } from '../graph/graph.js';
import { formatShape } from '../tensor.js';

/** Which naming a state dict uses. */
export type KeyStyle = 'official' | 'ours';

/** The outcome of mapping a state dict onto a model's parameters. */
export interface MappingReport {
  readonly style: KeyStyle;
  /** Our parameter name → the state-dict key that supplies it. */
  readonly sources: ReadonlyMap<string, string>;
  readonly missing: readonly { key: string; shape: readonly number[] }[];
  readonly unexpected: readonly { key: string; shape: readonly number[] }[];
  readonly mismatched: readonly { key: string; expected: readonly number[]; found: readonly number[] }[];
  /** Derived buffers found in the state dict and ignored. */
  readonly ignoredBuffers: readonly string[];
}

const DERIVED = /(^|\.)(relative_position_index|attn_mask)$/;

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * Maps a state dict (key → shape) onto `params`.
 *
 * @example
 * ```ts
 * const report = mapStateDict(def.params, new Map([['head.weight', [1000, 768]]]));
 * if (report.missing.length) console.log(describeMismatch(report));
 * ```
 */
export function mapStateDict(params: readonly ParamSpec[], shapes: ReadonlyMap<string, readonly number[]>): MappingReport {
  const officialHits = params.filter((p) => shapes.has(p.official)).length;
  const oursHits = params.filter((p) => shapes.has(p.name)).length;
  const style: KeyStyle = oursHits > officialHits ? 'ours' : 'official';
  const keyOf = (p: ParamSpec) => (style === 'ours' ? p.name : p.official);
  const sources = new Map<string, string>();
  const missing: { key: string; shape: readonly number[] }[] = [];
  const mismatched: { key: string; expected: readonly number[]; found: readonly number[] }[] = [];
  const used = new Set<string>();
  for (const p of params) {
    const key = keyOf(p);
    const found = shapes.get(key);
    if (!found) {
      missing.push({ key, shape: p.shape });
      continue;
    }
    used.add(key);
    if (!sameShape(found, p.shape)) mismatched.push({ key, expected: p.shape, found });
    else sources.set(p.name, key);
  }
  const unexpected: { key: string; shape: readonly number[] }[] = [];
  const ignoredBuffers: string[] = [];
  for (const [key, shape] of shapes) {
    if (used.has(key)) continue;
    if (DERIVED.test(key)) ignoredBuffers.push(key);
    else unexpected.push({ key, shape });
  }
  return { style, sources, missing, unexpected, mismatched, ignoredBuffers };
}

/** True when every parameter found a tensor of the right shape and nothing was left over. */
export function isExactFit(r: MappingReport): boolean {
  return r.missing.length === 0 && r.unexpected.length === 0 && r.mismatched.length === 0;
}

function list<T>(items: readonly T[], fmt: (t: T) => string, limit = 4): string {
  const shown = items.slice(0, limit).map(fmt).join(', ');
  return items.length > limit ? `${shown} and ${items.length - limit} more` : shown;
}

/** One line describing what does not fit. */
export function describeMismatch(r: MappingReport): string {
  const parts: string[] = [];
  if (r.missing.length) parts.push(`${r.missing.length} missing key(s): ${list(r.missing, (m) => `${m.key} ${formatShape(m.shape)}`)}`);
  if (r.unexpected.length)
    parts.push(`${r.unexpected.length} unexpected key(s): ${list(r.unexpected, (m) => `${m.key} ${formatShape(m.shape)}`)}`);
  if (r.mismatched.length) {
    parts.push(
      `${r.mismatched.length} shape mismatch(es): ${list(r.mismatched, (m) => `${m.key} checkpoint ${formatShape(m.found)} vs model ${formatShape(m.expected)}`)}`,
    );
  }
  return parts.join('; ');
}
