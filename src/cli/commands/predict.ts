/**
 * `flatten-vit predict`: run an architecture with a checkpoint on a preprocessed `.npy` batch and save
 * logits, pooled features and per-stage outputs as `.npy`, laid out like the official fixtures.
 */
import { join } from 'node:path';
import { encodeNpy, readNpy, readNpyShape } from '../../io/npy.js';
import { FlattenModel } from '../../model.js';
import { cacheFrom } from '../model_args.js';
import { checkOutputPath, OutputSet, tell } from '../output.js';
import { type Command, required, runtimeFrom, runtimeOptions } from '../command.js';
import { FlattenError } from '../../util/errors.js';

export const predictCommand: Command = {
  name: 'predict',
  summary: 'run a model on a preprocessed .npy batch and save logits, features and stage outputs',
  usage: `flatten-vit predict --arch <name | config.json> --checkpoint <file.pth | file.safetensors>
    --input <x.npy> --save-logits <out.npy> [--save-features <out.npy>] [--save-stages <dir>]
    [--ema] [--threads N] [--ep cpu] [--no-cache]

  --arch           a registered name (flatten_swin_t, ...) or a {"family", "args"} JSON file
  --checkpoint     official .pth (torch.save) or .safetensors weights
  --input          float32 NCHW .npy, e.g. from 'flatten-vit preprocess'
  --save-logits    where to write (B, num_classes) logits
  --save-features  where to write (B, C) pooled features
  --save-stages    folder for stage1.npy ... stage4.npy, each (B, N, C)
  --ema            use the checkpoint's state_dict_ema weights
  --threads        onnxruntime intra-op threads (default: all cores)
  --ep             execution providers, comma-separated (default: cpu)
  --no-cache       do not reuse or store onnxruntime's optimized model (FLATTEN_VIT_CACHE/optimized)

Example:
  npx flatten-vit predict --arch flatten_swin_t --checkpoint flatten_swin_t.pth \\
    --input input.npy --save-logits logits.npy`,
  options: {
    arch: { type: 'string' },
    checkpoint: { type: 'string' },
    input: { type: 'string' },
    'save-logits': { type: 'string' },
    'save-features': { type: 'string' },
    'save-stages': { type: 'string' },
    ema: { type: 'boolean' },
    'no-cache': { type: 'boolean' },
    ...runtimeOptions,
  },
  async run(v) {
    const arch = required(v, 'arch', 'predict');
    const checkpoint = required(v, 'checkpoint', 'predict');
    const input = required(v, 'input', 'predict');
    const logitsPath = required(v, 'save-logits', 'predict');
    const featuresPath = v['save-features'] as string | undefined;
    const stagesDir = v['save-stages'] as string | undefined;
    const inputs = [arch, checkpoint, input];
    checkOutputPath(logitsPath, inputs, '--save-logits');
    if (featuresPath) checkOutputPath(featuresPath, inputs, '--save-features');
    if (stagesDir && inputs.some((i) => join(i) === join(stagesDir))) {
      throw new FlattenError('usage', `${stagesDir}: --save-stages would replace an input; choose another folder`);
    }
    const shape = readNpyShape(input);
    const model = await FlattenModel.load(arch, checkpoint, {
      ema: v.ema === true,
      stages: stagesDir !== undefined,
      ...runtimeFrom(v, 'predict'),
      ...cacheFrom(v),
    });
    try {
      for (const w of model.warnings) tell(`warning: ${w}`);
      model.checkInput(shape, input);
      const out = await model.predict(readNpy(input));
      const files = new OutputSet();
      files.add(logitsPath, encodeNpy(out.logits));
      if (featuresPath) files.add(featuresPath, encodeNpy(out.features));
      if (stagesDir) {
        files.dir(stagesDir);
        out.stages!.forEach((s, i) => files.add(join(stagesDir, `stage${i + 1}.npy`), encodeNpy(s)));
      }
      files.commit();
    } finally {
      await model.dispose();
    }
  },
};
