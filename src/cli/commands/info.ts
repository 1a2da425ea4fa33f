/**
 * `flatten-vit info`: parameters, multiply-accumulates and stage shapes of an architecture, beside the
 * paper's figures.
 */
import { countMacs } from '../../graph/macs.js';
import { countParams, defineModel } from '../../models/define.js';
import { PAPER } from '../../models/paper.js';
import { resolveArchitectureSpec } from '../../models/config_file.js';
import { type Command, required } from '../command.js';

export const infoCommand: Command = {
  name: 'info',
  summary: 'parameters, MACs and stage shapes of an architecture, beside the paper',
  usage: `flatten-vit info --arch <name | config.json> [--json]

  MACs are counted from the graph for one image: every matrix product and convolution (the convention
  of the paper's FLOPs, which count multiply-adds).

Example:
  npx flatten-vit info --arch flatten_swin_t`,
  options: { arch: { type: 'string' }, json: { type: 'boolean' } },
  async run(v) {
    const def = defineModel(resolveArchitectureSpec(required(v, 'arch', 'info')), { stages: true });
    const params = countParams(def.params);
    const macs = countMacs(def.graph);
    const paper = PAPER[def.arch.name] ?? null;
    const stages = def.stages.map((s, i) => ({ stage: i + 1, tokens: s.tokens, channels: s.channels, grid: s.grid }));
    if (v.json === true) {
      const info = {
        arch: def.arch.name,
        family: def.arch.family.name,
        params,
        macs,
        input: def.inputShape,
        stages,
        paper,
        args: def.arch.args,
      };
      process.stdout.write(`${JSON.stringify(info)}\n`);
      return;
    }
    const lines = [
      `${def.arch.name} (${def.arch.family.constructorName}, ${def.arch.family.officialFile})`,
      `  input     ${def.inputShape.join(' x ')}`,
      `  params    ${params.toLocaleString('en-US')} (${(params / 1e6).toFixed(1)}M)${paper ? `   paper ${paper.params}M` : ''}`,
      `  MACs      ${(macs / 1e9).toFixed(2)}G${paper?.flops ? `   paper ${paper.flops.toFixed(1)}G FLOPs` : ''}`,
      ...(paper ? [`  top-1     paper ${paper.top1}% (baseline ${paper.baselineTop1}%)`] : []),
      ...stages.map((s) => `  stage ${s.stage}   ${s.grid[0]}x${s.grid[1]} tokens x ${s.channels} channels`),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  },
};
