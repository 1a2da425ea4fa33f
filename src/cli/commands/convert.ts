/**
 * `flatten-vit convert`: read an official checkpoint, check it against the architecture, and write the
 * model's own weights (float32, flatten-vit names) as safetensors.
 */
import { encodeSafetensors } from '../../checkpoint/safetensors.js';
import { readWeights } from '../../weights.js';
import { type Command, required, UsageError } from '../command.js';
import { checkOutputPath, OutputSet, tell } from '../output.js';

export const convertCommand: Command = {
  name: 'convert',
  summary: "write a checkpoint's model weights as float32 safetensors",
  usage: `flatten-vit convert --arch <name | config.json> --checkpoint <in.pth> --out <out.safetensors> [--ema]

  Reads the state dict (model, or state_dict_ema with --ema), checks every key and shape against the
  architecture, and writes the weights under flatten-vit's names with the architecture in the metadata.

Example:
  npx flatten-vit convert --arch flatten_swin_t --checkpoint flatten_swin_t.pth --out swin_t.safetensors`,
  options: {
    arch: { type: 'string' },
    checkpoint: { type: 'string' },
    out: { type: 'string' },
    ema: { type: 'boolean' },
  },
  async run(v) {
    const arch = required(v, 'arch', 'convert');
    const checkpoint = required(v, 'checkpoint', 'convert');
    const out = required(v, 'out', 'convert');
    if (!out.endsWith('.safetensors')) throw new UsageError(`convert: --out must end in .safetensors, found '${out}'`);
    checkOutputPath(out, [arch, checkpoint], '--out');
    const loaded = readWeights(arch, checkpoint, { ema: v.ema === true });
    for (const w of loaded.warnings) tell(`warning: ${w}`);
    const files = new OutputSet();
    files.add(
      out,
      encodeSafetensors(loaded.weights, {
        format: 'flatten-vit',
        arch: loaded.arch.name,
        family: loaded.arch.family,
        args: JSON.stringify(loaded.arch.args),
      }),
    );
    files.commit();
    process.stderr.write(`flatten-vit: wrote ${loaded.weights.size} tensors to ${out}\n`);
  },
};
