/**
 * `flatten-vit classify`: top-k labels for images (ImageNet's, or the class names a training run stored), as text or JSON.
 */
import { tell } from '../output.js';
import { classifyImages } from '../../classify/classify.js';
import { type Command, positiveInt, UsageError } from '../command.js';
import { loadModel, MODEL_USAGE, modelOptions } from '../model_args.js';
import { Progress } from '../progress.js';
import { FlattenError } from '../../util/errors.js';

export const classifyCommand: Command = {
  name: 'classify',
  summary: 'print the top-k labels of images (ImageNet, or the classes of a flatten-vit training run)',
  usage: `flatten-vit classify --arch <name | config.json> --checkpoint <file | pretrained name> <images...>
    [--top 5] [--json] [--batch 8] [--no-crop] [--exif-orientation]

${MODEL_USAGE}
  --top         classes per image (default 5)
  --json        print [{"file", "top": [{"index", "label", "score"}]}] on stdout and nothing else
  --batch       images per model run (default 8)
  --no-crop     resize straight to the input size (default: the model's official evaluation setting)
  --exif-orientation  turn photos upright first (the official evaluation does not)

Images that cannot be read are reported on stderr and left out; the exit status is then 1.

Example:
  npx flatten-vit classify --checkpoint flatten_swin_t.in1k cat.jpg dog.png`,
  allowPositionals: true,
  options: {
    ...modelOptions,
    top: { type: 'string' },
    json: { type: 'boolean' },
    batch: { type: 'string' },
    'no-crop': { type: 'boolean' },
    'exif-orientation': { type: 'boolean' },
  },
  async run(v, images) {
    if (images.length === 0) throw new UsageError('classify: give at least one image');
    const json = v.json === true;
    const top = positiveInt(v, 'top', 'classify') ?? 5;
    const batch = positiveInt(v, 'batch', 'classify') ?? 8;
    const model = await loadModel(v, 'classify', {}, json);
    const bar = new Progress('classifying', images.length, 'img', !json && images.length > 1 && process.stderr.isTTY === true);
    try {
      const results = await classifyImages(model, images, {
        top,
        batch,
        crop: v['no-crop'] === true ? false : undefined,
        exifOrientation: v['exif-orientation'] === true,
        onProgress: (done) => bar.update(done),
      });
      bar.finish();
      const unread = results.filter((r): r is { file: string; error: string } => 'error' in r);
      if (unread.length === results.length) {
        throw new FlattenError(
          'input',
          results.length === 1 ? unread[0].error : `no readable image among the ${results.length} given (first: ${unread[0].error})`,
        );
      }
      let failed = 0;
      for (const r of results) {
        if ('error' in r) {
          failed++;
          tell(`skipped ${r.error}`);
        }
      }
      const ok = results.filter((r) => 'top' in r);
      if (json) process.stdout.write(`${JSON.stringify(ok)}\n`);
      else {
        for (const r of ok) {
          process.stdout.write(`${r.file}\n`);
          for (const t of r.top) process.stdout.write(`  ${(t.score * 100).toFixed(2).padStart(6)}%  ${t.label} (${t.index})\n`);
        }
      }
      return failed > 0 ? 1 : 0;
    } finally {
      await model.dispose();
    }
  },
};
