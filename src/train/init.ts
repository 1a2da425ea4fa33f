/**
 * Initial weights for training from scratch, as the official constructors leave a fresh model:
 * `_init_weights` gives Linear weights N(0, 0.02²) (timm's `trunc_normal_`, whose ±2 bounds are 100σ
 * away) and zero biases, LayerNorm weights 1 and biases 0; PVT's position embeddings and Swin's
 * relative position bias table and absolute position embedding are drawn the same way; convolutions
 * are PVTv2's N(0, 2/fan_out) with zero bias, or elsewhere PyTorch's default U(±1/√fan_in) for weight
 * and bias; the focused linear attention's `scale` and `positional_encoding` start at zero.
 * Draws come from a seeded generator, so a run is repeatable.
 */
import type { ParamSpec } from '../graph/graph.js';
import type { Family } from '../models/family.js';
import { normal, Random } from '../util/random.js';

/** How the official code initialises a parameter, from its official name and shape (and its sibling weight's). */
function kindOf(p: ParamSpec, byName: ReadonlyMap<string, ParamSpec>): 'zero' | 'one' | 'normal' | 'conv' | 'convBias' {
  const name = p.official;
  if (/(^|\.)(scale|positional_encoding)$/.test(name)) return 'zero';
  if (p.shape.length === 4) return 'conv';
  if (p.shape.length === 1) {
    // 1-D weights belong to LayerNorm (or BatchNorm); a bias follows its module's weight
    if (name.endsWith('.weight')) return 'one';
    return byName.get(name.replace(/bias$/, 'weight'))?.shape.length === 4 ? 'convBias' : 'zero';
  }
  return 'normal';
}

/** The conv's groups: depthwise when each filter sees one input channel (patch embeddings of 1-channel images excepted). */
function groupsOf(p: ParamSpec): number {
  const embedding = /patch_embed\d*\.proj\.weight$|stage1_conv_embed\.0\.weight$/.test(p.official);
  return p.shape[1] === 1 && !embedding ? p.shape[0] : 1;
}

/**
 * Fresh weights for every parameter, by our name.
 *
 * @example
 * ```ts
 * const w = initialWeights(defineModel(arch).params, arch.family, 0);
 * ```
 */
export function initialWeights(params: readonly ParamSpec[], family: Family, seed: number): Map<string, Float32Array> {
  const u = new Random(seed).uniform;
  const byName = new Map(params.map((p) => [p.official, p]));
  const out = new Map<string, Float32Array>();
  for (const p of params) {
    const n = p.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    const kind = kindOf(p, byName);
    if (kind === 'one') data.fill(1);
    else if (kind === 'normal') for (let i = 0; i < n; i++) data[i] = 0.02 * normal(u);
    else if (kind === 'conv') {
      const [cout, cinPerGroup, kh, kw] = p.shape;
      if (family.convInit === 'fan_out') {
        const std = Math.sqrt(2 / ((kh * kw * cout) / groupsOf(p)));
        for (let i = 0; i < n; i++) data[i] = std * normal(u);
      } else {
        const bound = 1 / Math.sqrt(cinPerGroup * kh * kw);
        for (let i = 0; i < n; i++) data[i] = (2 * u() - 1) * bound;
      }
    } else if (kind === 'convBias' && family.convInit !== 'fan_out') {
      const w = byName.get(p.official.replace(/bias$/, 'weight'));
      if (w && w.shape.length === 4) {
        const bound = 1 / Math.sqrt(w.shape[1] * w.shape[2] * w.shape[3]);
        for (let i = 0; i < n; i++) data[i] = (2 * u() - 1) * bound;
      }
    }
    out.set(p.name, data);
  }
  return out;
}
