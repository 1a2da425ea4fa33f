/**
 * `flatten-vit train`: the official training loop (`main_ema.py`) on an ImageFolder dataset (the
 * official augmentation) or on ready batches, with the official config files and keys, checkpoints in
 * the official layout after every epoch, and `--resume` from a run written here or by the official code.
 */
import { fetchPretrained, isPretrainedName } from '../../hub/download.js';
import { PRETRAINED } from '../../hub/pretrained.js';
import { trainingArchitecture } from '../../train/architecture.js';
import { listBatches } from '../../train/batches.js';
import { resolveArchitectureSpec } from '../../models/config_file.js';
import { loadConfig } from '../../train/config_file.js';
import { batchFolderData, imageFolderData, listDataFolder, type TrainData } from '../../train/data.js';
import { epochJson, type InitialWeights, train } from '../../train/run.js';
import { defaultWorkers } from '../../data/worker_pool.js';
import { trainSettings, transformSettings } from '../../train/settings.js';
import type { StepRecord } from '../../train/trainer.js';
import { FlattenError } from '../../util/errors.js';
import { type Command, positiveInt, required, UsageError } from '../command.js';
import { join } from 'node:path';
import { checkOutputPath, tell } from '../output.js';

const clock = (s: number) => `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, '0')}`;

/** The per-step line on a terminal: epoch, step, rate, ETA, loss and rate. */
function progressLine(r: StepRecord, steps: number, epochs: number, batch: number, elapsed: number): string {
  const done = r.step + 1;
  const rate = (done * batch) / elapsed;
  const eta = clock(((steps - done) * batch) / rate);
  const bar = '#'.repeat(Math.round((20 * done) / steps)).padEnd(20, '.');
  return `epoch ${r.epoch + 1}/${epochs} [${bar}] ${done}/${steps} ${rate.toFixed(1)} img/s ETA ${eta} loss ${r.loss.toFixed(4)} lr ${r.lr.toExponential(3)} grad_norm ${r.gradNorm.toFixed(3)}`;
}

export const trainCommand: Command = {
  name: 'train',
  summary: 'train or fine-tune with the official recipe (config, AdamW, schedule, EMA, checkpoints)',
  usage: `flatten-vit train [--arch <name | config.json>] [--cfg <file.yaml>] (--data <dir> | --batches <dir> [--val-batches <dir>])
    [--out <dir>] [--checkpoint <file | pretrained name> | --resume <file.pth>] [--model-ema [--model-ema-decay D]]
    [--save-grads <file.safetensors>] [--freeze backbone | stages:A-B] [--threads N] [--workers N] [--seed S]
    [--json] [--opts KEY VALUE ...]

  --arch             a registered name or a {"family", "args"} JSON file (default: MODEL.TYPE of --cfg)
  --cfg              an official config file (cfgs/*.yaml); keys not given keep config.py's defaults
  --opts             KEY VALUE pairs overriding the config, e.g. --opts TRAIN.EPOCHS 30 DATA.BATCH_SIZE 32
  --data             an ImageFolder dataset: <dir>/train/<class>/<image> and optionally <dir>/val/<class>/<image>
                     (PNG or JPEG); classes are train/'s sorted folder names and set MODEL.NUM_CLASSES; training
                     images get the official augmentation (RandomResizedCrop, flip, RandAugment, RandomErasing,
                     Mixup/CutMix per AUG.*), shuffled every epoch from --seed, the last partial batch dropped;
                     val/ is evaluated after every epoch with the official evaluation transform
  --workers          threads decoding and augmenting images beside the training step (default: cores − 1, at least 1)
  --batches          folder of batch0_x.npy (B, 3, H, W) float32 and batch0_y.npy (B,) labels, batch1_..., in order;
                     one epoch is all of them; B must equal DATA.BATCH_SIZE
  --val-batches      folder of validation batches (same files, any batch size), evaluated after every
                     epoch: acc@1, acc@5, loss; max_acc.pth keeps the best, as the official code does
  --out              folder for ckpt_epoch_N.pth after every epoch and last.pth (official layout), with
                     log.txt, metrics.jsonl and curves.svg; Ctrl-C finishes the step and saves last.pth,
                     which --resume continues exactly
  --checkpoint       initial weights (the official --pretrained)
  --resume           continue a run from its checkpoint (weights, optimizer, scheduler, epoch, EMA)
  --model-ema        keep an EMA of the weights (saved as state_dict_ema); --model-ema-decay (default 0.9999)
  --save-grads       write the first step's gradients (official names, before clipping)
  --freeze           keep parameters fixed: backbone (train the head only, a linear probe) or stages:A-B
  --threads          onnxruntime intra-op threads (default: all cores)
  --seed             seed of initial weights, data order, augmentation, stochastic depth and mixup
                     (default: SEED of the config)
  --json             one line per step on stdout: {"epoch", "step", "loss", "lr", "grad_norm"}, and after
                     every epoch {"epoch", "val_acc1", "val_acc5", "val_loss", "seconds",
                     "data_wait_seconds", "data_wait_fraction"}

Examples:
  npx flatten-vit train --cfg cfgs/flatten_pvt_v2_b0.yaml --data flowers --out run      # the official recipe
  npx flatten-vit train --arch flatten_pvt_v2_b0 --checkpoint flatten_pvt_v2_b0 --data flowers --out ft \
    --opts TRAIN.EPOCHS 10 TRAIN.BASE_LR 1e-4                                         # fine-tune a released model
  npx flatten-vit train --arch flatten_pvt_v2_b0 --checkpoint flatten_pvt_v2_b0 --data flowers --out probe \
    --freeze backbone                                                                  # linear probe
  npx flatten-vit train --arch ../shared/fixtures/swin_mini/config.json \\
    --cfg ../shared/fixtures/swin_mini/train/recipe.yaml --batches ../shared/fixtures/swin_mini/train/steps \\
    --checkpoint ../shared/fixtures/swin_mini/checkpoint.pth --model-ema --model-ema-decay 0.99 --out run`,
  options: {
    arch: { type: 'string' },
    cfg: { type: 'string' },
    opts: { type: 'boolean' },
    data: { type: 'string' },
    workers: { type: 'string' },
    batches: { type: 'string' },
    'val-batches': { type: 'string' },
    out: { type: 'string' },
    checkpoint: { type: 'string' },
    resume: { type: 'string' },
    'model-ema': { type: 'boolean' },
    'model-ema-decay': { type: 'string' },
    'save-grads': { type: 'string' },
    freeze: { type: 'string' },
    threads: { type: 'string' },
    seed: { type: 'string' },
    json: { type: 'boolean' },
  },
  allowPositionals: true,
  async run(v, positionals) {
    const json = v.json === true;
    const tty = !json && process.stderr.isTTY === true;
    if (positionals.length && v.opts !== true)
      throw new UsageError(`train: unexpected argument '${positionals[0]}' (config overrides go after --opts)`);
    const dataDir = v.data as string | undefined;
    if (dataDir !== undefined && (v.batches !== undefined || v['val-batches'] !== undefined))
      throw new UsageError('train: --data and --batches/--val-batches exclude each other');
    if (dataDir === undefined && v.workers !== undefined) throw new UsageError('train: --workers goes with --data');
    const batchesDir = dataDir === undefined ? required(v, 'batches', 'train') : undefined;
    const workers = v.workers === undefined ? undefined : Number(v.workers);
    if (workers !== undefined && !(Number.isInteger(workers) && workers >= 0))
      throw new UsageError(`train: --workers must be a whole number (0 loads images between steps), found '${String(v.workers)}'`);
    if (v.checkpoint !== undefined && v.resume !== undefined) throw new UsageError('train: --checkpoint and --resume exclude each other');
    const decayText = v['model-ema-decay'];
    if (decayText !== undefined && v['model-ema'] !== true) throw new UsageError('train: --model-ema-decay needs --model-ema');
    const decay = decayText === undefined ? 0.9999 : Number(decayText);
    if (!(decay > 0 && decay < 1)) throw new UsageError(`train: --model-ema-decay must be between 0 and 1, found '${String(decayText)}'`);
    const seedText = v.seed as string | undefined;
    const seed = seedText === undefined ? undefined : Number(seedText);
    if (seed !== undefined && !Number.isSafeInteger(seed)) throw new UsageError(`train: --seed must be an integer, found '${seedText}'`);

    const split = dataDir === undefined ? null : listDataFolder(dataDir);
    const cfgFile = (v.cfg as string | undefined) ?? null;
    let config = loadConfig(cfgFile, positionals);
    if (split && !config.explicit.has('MODEL.NUM_CLASSES'))
      config = loadConfig(cfgFile, [...positionals, 'MODEL.NUM_CLASSES', String(split.classes.length)]);
    const arch = trainingArchitecture(config, typeof v.arch === 'string' ? resolveArchitectureSpec(v.arch) : undefined);
    const settings = trainSettings(config, { emaDecay: v['model-ema'] === true ? decay : null });
    const runSeed = seed ?? (config.tree.SEED as number);
    const batches = batchesDir === undefined ? [] : listBatches(batchesDir);
    const saveGrads = v['save-grads'] as string | undefined;
    if (saveGrads)
      checkOutputPath(
        saveGrads,
        batches.flatMap((b) => [b.x, b.y]),
        '--save-grads',
      );
    let skipped = 0;
    // skipped images are reported once a step has run: data with nothing readable ends in one line
    const held: string[] = [];
    let stepped = false;
    const flushSkipped = () => {
      stepped = true;
      for (const reason of held.splice(0)) {
        if (tty) process.stderr.write('\r\x1b[K');
        tell(`warning: skipped ${reason}`);
      }
    };
    const makeData = (): TrainData =>
      split
        ? imageFolderData({
            ...split,
            names: { train: join(dataDir!, 'train'), val: join(dataDir!, 'val') },
            settings: transformSettings(config),
            seed: runSeed,
            workers: workers ?? defaultWorkers(),
            onSkip: (reason) => {
              skipped++;
              held.push(reason);
              if (stepped) flushSkipped();
            },
          })
        : batchFolderData(batches, typeof v['val-batches'] === 'string' ? listBatches(v['val-batches']) : undefined);

    let init: InitialWeights = { kind: 'scratch' };
    if (typeof v.resume === 'string') init = { kind: 'resume', file: v.resume };
    else if (typeof v.checkpoint === 'string') {
      const spec = v.checkpoint;
      if (isPretrainedName(spec)) {
        if (PRETRAINED[spec].arch !== arch.name) {
          throw new FlattenError('config', `--checkpoint ${spec} holds ${PRETRAINED[spec].arch} weights but the run trains ${arch.name}`);
        }
        init = { kind: 'checkpoint', file: await fetchPretrained(spec) };
      } else init = { kind: 'checkpoint', file: spec };
    }

    const out = v.out as string | undefined;
    let epochStart = performance.now();
    const stop = { requested: false };
    const onInterrupt = () => {
      if (stop.requested) process.exit(130);
      stop.requested = true;
      process.stderr.write(`\nflatten-vit: finishing the current step${out ? ', then saving' : ''} (Ctrl-C again quits at once)\n`);
    };
    process.on('SIGINT', onInterrupt);
    const result = await train({
      stop,
      ...(typeof v.freeze === 'string' ? { freeze: v.freeze } : {}),
      onWarning: (m) => tell(`warning: ${m}`),
      arch,
      config,
      settings,
      data: makeData(),
      init,
      ...(out ? { out } : {}),
      ...(saveGrads ? { saveGrads } : {}),
      seed: runSeed,
      threads: positiveInt(v, 'threads', 'train'),
      onReady: (t) => {
        if (!out) process.stderr.write('flatten-vit: warning: no --out folder, so no checkpoints will be saved\n');
        if (!json) {
          process.stderr.write(
            `flatten-vit: training ${arch.name} (${arch.family.constructorName}), batch ${settings.batch}, ${t.stepsPerEpoch} steps per epoch, epochs ${t.epoch + 1}-${settings.totalEpochs}${split ? `, ${split.classes.length} classes, ${split.train.length} training images${split.val ? `, ${split.val.length} validation images` : ', no val/ folder'}` : ''}\n`,
          );
        }
        epochStart = performance.now();
      },
      onStep: (r, steps) => {
        flushSkipped();
        if (json) {
          process.stdout.write(
            `${JSON.stringify({ epoch: r.epoch + 1, step: r.step + 1, loss: r.loss, lr: r.lr, grad_norm: r.gradNorm })}\n`,
          );
        } else if (tty) {
          process.stderr.write(
            `\r${progressLine(r, steps, settings.totalEpochs, settings.batch, (performance.now() - epochStart) / 1000)}\x1b[K`,
          );
        }
      },
      onEpoch: (e) => {
        if (tty) process.stderr.write('\n');
        if (json) process.stdout.write(`${JSON.stringify(epochJson(e))}\n`);
        else {
          const val = e.val ? `; val acc@1 ${e.val.acc1.toFixed(2)}% acc@5 ${e.val.acc5.toFixed(2)}% loss ${e.val.loss.toFixed(4)}` : '';
          const wait = split
            ? ` (${((100 * e.dataWaitSeconds) / e.stepsSeconds).toFixed(1)}% waiting for images${skipped ? `, ${skipped} skipped` : ''})`
            : '';
          process.stderr.write(
            `flatten-vit: epoch ${e.epoch} done in ${e.seconds.toFixed(1)} s${wait}${val}${e.checkpoint ? `, saved ${e.checkpoint}` : ''}\n`,
          );
        }
        epochStart = performance.now();
      },
    }).finally(() => process.off('SIGINT', onInterrupt));
    if (result.stopped) {
      process.stderr.write(
        `flatten-vit: stopped${out ? `; continue with --resume ${join(out, 'last.pth')}` : ' (no --out, nothing saved)'}\n`,
      );
      return 130;
    }
  },
};
