/**
 * `flatten-vit eval`: top-1 / top-5 accuracy on an ImageFolder dataset, as `main.py --eval` reports it.
 */
import { tell } from '../output.js';
import { evaluateFolder } from '../../classify/evaluate.js';
import { type Command, positiveInt, required } from '../command.js';
import { loadModel, MODEL_USAGE, modelOptions } from '../model_args.js';
import { Progress } from '../progress.js';

export const evalCommand: Command = {
  name: 'eval',
  summary: 'top-1/top-5 accuracy on an ImageFolder dataset',
  usage: `flatten-vit eval --arch <name | config.json> --checkpoint <file | pretrained name> --data <dir>
    [--limit N] [--batch 16] [--json]

${MODEL_USAGE}
  --data        an ImageFolder: one subfolder per class, sorted names give the class indices
  --limit       evaluate N images spread evenly over the dataset
  --batch       images per model run (default 16)
  --json        print {"top1", "top5", "images", "skipped", ...} on stdout and nothing else

Unreadable images are reported, skipped and counted; the run goes on.

Example:
  npx flatten-vit eval --checkpoint flatten_pvt_t.in1k --data imagenet/val --limit 1000`,
  options: { ...modelOptions, data: { type: 'string' }, limit: { type: 'string' }, batch: { type: 'string' }, json: { type: 'boolean' } },
  async run(v) {
    const data = required(v, 'data', 'eval');
    const json = v.json === true;
    const limit = positiveInt(v, 'limit', 'eval');
    const model = await loadModel(v, 'eval', {}, json);
    let bar: Progress | null = null;
    // skipped files are reported once an image has been read: a folder with none ends in one line
    const held: string[] = [];
    let readable = false;
    const flush = () => {
      readable = true;
      for (const reason of held.splice(0)) {
        if (bar?.enabled) process.stderr.write('\r\x1b[K');
        tell(`skipped ${reason}`);
      }
    };
    try {
      const s = await evaluateFolder(model, data, {
        limit,
        batch: positiveInt(v, 'batch', 'eval'),
        onProgress: (done, total, evaluated) => {
          bar ??= new Progress('evaluating', total, 'img', !json && process.stderr.isTTY === true);
          if (evaluated > 0) flush();
          bar.update(done);
        },
        onSkip: (_, reason) => {
          held.push(reason);
          if (readable) flush();
        },
      });
      flush();
      (bar as Progress | null)?.finish();
      const summary = {
        arch: model.name,
        data,
        images: s.images,
        skipped: s.skipped,
        classes: s.classes,
        top1: Number(s.top1.toFixed(3)),
        top5: Number(s.top5.toFixed(3)),
        images_per_s: Number(s.imagesPerSecond.toFixed(2)),
        seconds: Number(s.seconds.toFixed(2)),
      };
      if (json) process.stdout.write(`${JSON.stringify(summary)}\n`);
      else {
        process.stdout.write(
          `* Acc@1 ${s.top1.toFixed(3)} Acc@5 ${s.top5.toFixed(3)} on ${s.images} images of ${s.classes} classes` +
            `${s.skipped ? ` (${s.skipped} unreadable, skipped)` : ''}; ${s.imagesPerSecond.toFixed(1)} images/s\n`,
        );
      }
    } finally {
      await model.dispose();
    }
  },
};
