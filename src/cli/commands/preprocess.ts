/**
 * `flatten-vit preprocess`: the exact model input for one image, saved as `.npy`.
 */
import { encodeNpy } from '../../io/npy.js';
import { loadImage } from '../../preprocess/input.js';
import { evalTransform } from '../../preprocess/transform.js';
import { type Command, positiveInt, required, UsageError } from '../command.js';
import { checkOutputPath, OutputSet } from '../output.js';

export const preprocessCommand: Command = {
  name: 'preprocess',
  summary: 'apply the official evaluation transform to an image and save the model input as .npy',
  usage: `flatten-vit preprocess <image> --size 224|384 [--no-crop] [--exif-orientation] --save <x.npy>

  Resize((256/224·size)², bicubic) + CenterCrop(size) + ToTensor + Normalize, exactly as the official
  evaluation (PIL decoding and resampling reproduced bit for bit); --no-crop resizes straight to size
  (the 384 models). Writes a (1, 3, size, size) float32 .npy.

Example:
  npx flatten-vit preprocess cat.jpg --size 224 --save cat.npy`,
  allowPositionals: true,
  options: {
    size: { type: 'string' },
    'no-crop': { type: 'boolean' },
    'exif-orientation': { type: 'boolean' },
    save: { type: 'string' },
  },
  async run(v, positionals) {
    const image = positionals[0];
    if (positionals.length !== 1) throw new UsageError('preprocess: give exactly one image');
    const size = positiveInt(v, 'size', 'preprocess') ?? 224;
    const save = required(v, 'save', 'preprocess');
    checkOutputPath(save, [image], '--save');
    const x = evalTransform(loadImage(image, image, { exifOrientation: v['exif-orientation'] === true }), {
      source: image,
      size,
      crop: v['no-crop'] !== true,
    });
    const out = new OutputSet();
    out.add(save, encodeNpy(x));
    out.commit();
  },
};
