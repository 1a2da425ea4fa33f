/**
 * `--freeze`: which parameters stay fixed. `backbone` trains only the classification head (a linear
 * probe); `stages:1-2` (or `stages:1`) freezes those stages, stage 1 with the embedding before it.
 * Frozen parameters are left out of the optimizer, as `requires_grad = False` leaves them out of the
 * official `set_weight_decay`, and out of the backward graph.
 */
import type { ParamSpec } from '../graph/graph.js';
import { FlattenError } from '../util/errors.js';

/**
 * Parses a `--freeze` value into a predicate over parameters.
 *
 * @example
 * ```ts
 * const frozen = parseFreeze('stages:1-2', 4);
 * frozen({ name: 'stage2.block0.attn.qkv.weight', official: '…', shape: [] }); // true
 * ```
 */
export function parseFreeze(spec: string, stages: number): (p: ParamSpec) => boolean {
  if (spec === 'backbone') return (p) => !/^head\./.test(p.official);
  const m = /^stages:(\d+)(?:-(\d+))?$/.exec(spec);
  if (!m) throw new FlattenError('config', `--freeze must be 'backbone' or 'stages:A-B' (e.g. stages:1-2), found '${spec}'`);
  const from = Number(m[1]);
  const to = Number(m[2] ?? m[1]);
  if (!(from >= 1 && to >= from && to <= stages)) {
    throw new FlattenError('config', `--freeze ${spec}: this model has stages 1 to ${stages}`);
  }
  return (p) => {
    const stage = /^stage(\d+)\./.exec(p.name);
    if (stage) return Number(stage[1]) >= from && Number(stage[1]) <= to;
    const beforeStages = !/^(norm|head)\./.test(p.name);
    return beforeStages && from === 1;
  };
}
