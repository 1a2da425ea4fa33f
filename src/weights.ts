/**
 * Reading a checkpoint into flatten-vit's own weights without starting a runtime: what `convert`
 * writes and what a user needs to inspect or re-save weights.
 */
import { type CheckpointInput, openCheckpoint } from './checkpoint/open.js';
import { defineModel } from './models/define.js';
import type { MappingReport } from './models/mapping.js';
import { resolveArchitectureSpec } from './models/config_file.js';
import type { ArchitectureSpec } from './model.js';
import { checkFit, weightLookup } from './model.js';
import type { Tensor } from './tensor.js';

/** Weights under flatten-vit's names, with how they were found. */
export interface LoadedWeights {
  readonly weights: Map<string, Tensor>;
  readonly mapping: MappingReport;
  readonly warnings: string[];
  /** The resolved architecture's name, family and arguments. */
  readonly arch: { name: string; family: string; args: Readonly<Record<string, unknown>> };
}

/**
 * Reads and maps a checkpoint onto an architecture, returning float32 weights by our names.
 *
 * @example
 * ```ts
 * const { weights } = readWeights('flatten_pvt_t', 'flatten_pvt_t.pth');
 * writeFileSync('flatten_pvt_t.safetensors', encodeSafetensors(weights));
 * ```
 */
export function readWeights(arch: ArchitectureSpec, checkpoint: CheckpointInput, opts: { ema?: boolean } = {}): LoadedWeights {
  const def = defineModel(resolveArchitectureSpec(arch));
  const sd = openCheckpoint(checkpoint, opts);
  try {
    const mapping = checkFit(def, sd);
    const warnings: string[] = [];
    const lookup = weightLookup(sd, mapping, warnings);
    const weights = new Map<string, Tensor>();
    for (const p of def.params) weights.set(p.name, { shape: p.shape, data: lookup(p.name) });
    const a = def.arch;
    return { weights, mapping, warnings, arch: { name: a.name, family: a.family.name, args: a.args } };
  } finally {
    sd.close();
  }
}
