/**
 * `flatten-vit export`: the model as a standard ONNX file for any runtime.
 */
import { openCheckpoint } from '../../checkpoint/open.js';
import { exportOnnx } from '../../model_base.js';
import { defineModel } from '../../models/define.js';
import { resolveArchitectureSpec } from '../../models/config_file.js';
import { type Command, positiveInt, UsageError } from '../command.js';
import { resolveModelArgs, modelOptions, MODEL_USAGE } from '../model_args.js';
import { checkOutputPath, OutputSet, tell } from '../output.js';

export const exportCommand: Command = {
  name: 'export',
  summary: 'write the model with its weights as a standard ONNX file',
  usage: `flatten-vit export --arch <name | config.json> --checkpoint <file | pretrained name> --out <model.onnx>
    [--batch N] [--ema]

${MODEL_USAGE}
  --out         the .onnx file (opset 17, default domain only: any ONNX runtime loads it)
  --batch       fix the batch size (default: dynamic batch dimension)

Input 'pixel_values' (B, 3, H, W) float32, preprocessed as 'flatten-vit preprocess' does;
outputs 'logits' (B, classes) and 'features' (B, C).

Example:
  npx flatten-vit export --checkpoint flatten_pvt_t.in1k --out flatten_pvt_t.onnx`,
  options: { ...modelOptions, out: { type: 'string' }, batch: { type: 'string' } },
  async run(v) {
    const out = typeof v.out === 'string' ? v.out : '';
    if (!out.endsWith('.onnx')) throw new UsageError(`export: --out must name a .onnx file, found '${out}'`);
    const { arch, checkpoint } = await resolveModelArgs(v, 'export');
    checkOutputPath(out, [arch, checkpoint], '--out');
    const def = defineModel(resolveArchitectureSpec(arch));
    const sd = openCheckpoint(checkpoint, { ema: v.ema === true });
    try {
      const warnings: string[] = [];
      const bytes = exportOnnx(def, sd, warnings, positiveInt(v, 'batch', 'export'));
      for (const w of warnings) tell(`warning: ${w}`);
      const files = new OutputSet();
      files.add(out, bytes);
      files.commit();
      process.stderr.write(`flatten-vit: wrote ${out} (${(bytes.length / 2 ** 20).toFixed(1)} MiB)\n`);
    } finally {
      sd.close();
    }
  },
};
