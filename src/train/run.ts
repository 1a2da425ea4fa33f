/**
 * A whole training run, as `main_ema.py` runs it: the initial weights (fresh, a
 * checkpoint's, or a run to resume), every epoch from the start epoch to `EPOCHS + COOLDOWN_EPOCHS`,
 * and after each epoch `ckpt_epoch_N.pth` and `last.pth` in the output folder.
 */
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { FileSource } from '../checkpoint/file_source.js';
import { openCheckpoint } from '../checkpoint/open.js';
import { saveTorch } from '../checkpoint/torch_file.js';
import { encodeSafetensors } from '../checkpoint/safetensors.js';
import type { Architecture } from '../models/registry.js';
import type { Tensor } from '../tensor.js';
import { FlattenError } from '../util/errors.js';
import { nodeStepRuntime } from '../runtime/session.js';
import type { TrainingConfig } from './config.js';
import type { TrainData } from './data.js';
import { curvesSvg, type EpochPoint } from './curves.js';
import { type EpochRecord, freezePredicate, type StartFrom, startingState, trainEpochs } from './loop.js';
import type { TrainSettings } from './settings.js';
import { type StepRecord, Trainer } from './trainer.js';

export type { EpochRecord } from './loop.js';

/** Where the initial weights come from. */
export type InitialWeights = { kind: 'scratch' } | { kind: 'checkpoint'; file: string } | { kind: 'resume'; file: string };

/** Options of {@link train}. */
export interface TrainRunOptions {
  readonly arch: Architecture;
  readonly config: TrainingConfig;
  readonly settings: TrainSettings;
  /** The training batches, and the validation set evaluated after every epoch. */
  readonly data: TrainData;
  readonly init: InitialWeights;
  /** Output folder for checkpoints; none are written without it. */
  readonly out?: string;
  /** Write the first step's gradients (official names, before clipping) here. */
  readonly saveGrads?: string;
  readonly seed?: number;
  readonly threads?: number;
  /** Called after every step with its record and the run's total steps. */
  readonly onStep?: (rec: StepRecord, steps: number) => void;
  /** Called after every epoch (validation included). */
  readonly onEpoch?: (e: EpochRecord) => void;
  /** Called once the graph is built and the weights are loaded (before the first step). */
  readonly onReady?: (trainer: Trainer) => void;
  /** Something the user should know that does not stop the run (a re-initialised head). */
  readonly onWarning?: (message: string) => void;
  /** `--freeze`: `backbone` or `stages:A-B`. */
  readonly freeze?: string;
  /** Set `requested` (e.g. on Ctrl-C) to end the run after the current step, with a checkpoint. */
  readonly stop?: { requested: boolean };
}

/** Checks that the output folder can be written and holds no other run's checkpoints. */
export function prepareOutput(out: string, resumeFile: string | null): void {
  const probe = join(out, `.flatten-vit-write-test.${process.pid}`);
  try {
    mkdirSync(out, { recursive: true });
    writeFileSync(probe, '');
    rmSync(probe);
  } catch (e) {
    throw new FlattenError(
      'output',
      `${out}: cannot write checkpoints there (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
  const resumingHere = resumeFile !== null && resolve(dirname(resumeFile)) === resolve(out);
  const existing = readdirSync(out).filter((n) => /^(ckpt_epoch_\d+|last|max_acc)\.pth$/.test(n));
  if (existing.length && !resumingHere) {
    throw new FlattenError(
      'output',
      `${out}: already holds a run's checkpoints (${existing.slice(0, 3).join(', ')}); continue it with --resume ${join(out, 'last.pth')}, or choose another --out`,
    );
  }
}

/** The epoch's `--json` / `metrics.jsonl` object. */
export function epochJson(e: EpochRecord): Record<string, number | null> {
  return {
    epoch: e.epoch,
    val_acc1: e.val?.acc1 ?? null,
    val_acc5: e.val?.acc5 ?? null,
    val_loss: e.val?.loss ?? null,
    ...(e.valEma ? { val_ema_acc1: e.valEma.acc1 } : {}),
    seconds: e.seconds,
    data_wait_seconds: e.dataWaitSeconds,
    data_wait_fraction: e.stepsSeconds > 0 ? e.dataWaitSeconds / e.stepsSeconds : 0,
  };
}

/** Writes the first step's gradients under the official names, before clipping. */
function saveGradients(path: string, trainer: Trainer, grads: ReadonlyMap<string, Float32Array>): void {
  const named = new Map<string, Tensor>(
    trainer.graph.trained.map((p) => [p.official, { shape: p.shape, data: Float32Array.from(grads.get(p.name)!) }]),
  );
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, encodeSafetensors(named));
  renameSync(tmp, path);
}

/**
 * The output folder's record of the run: `log.txt` (a line per epoch and event), `metrics.jsonl` (an
 * object per step and per epoch) and `curves.svg`, redrawn after every epoch from all epochs so far
 * (those of earlier, resumed parts of the run included).
 */
class RunLog {
  private readonly points: EpochPoint[] = [];
  private losses: number[] = [];
  private lastLr = 0;

  constructor(private readonly dir: string) {
    const file = join(dir, 'metrics.jsonl');
    if (!existsSync(file)) return;
    for (const text of readFileSync(file, 'utf8').split('\n')) {
      try {
        const m = JSON.parse(text) as {
          step?: number;
          epoch: number;
          train_loss?: number;
          lr?: number;
          val_loss: number | null;
          val_acc1: number | null;
          val_acc5: number | null;
        };
        if (m.step === undefined && m.train_loss !== undefined) {
          this.points.push({
            epoch: m.epoch,
            trainLoss: m.train_loss,
            lr: m.lr ?? 0,
            valLoss: m.val_loss,
            valAcc1: m.val_acc1,
            valAcc5: m.val_acc5,
          });
        }
      } catch {
        // a line cut short by an earlier interruption
      }
    }
  }

  line(text: string): void {
    appendFileSync(join(this.dir, 'log.txt'), `${new Date().toISOString()} ${text}\n`);
  }

  step(r: StepRecord): void {
    this.losses.push(r.loss);
    this.lastLr = r.lr;
    appendFileSync(
      join(this.dir, 'metrics.jsonl'),
      `${JSON.stringify({ epoch: r.epoch + 1, step: r.step + 1, loss: r.loss, lr: r.lr, grad_norm: r.gradNorm })}\n`,
    );
  }

  async epoch(e: EpochRecord): Promise<void> {
    const trainLoss = this.losses.reduce((a, b) => a + b, 0) / Math.max(1, this.losses.length);
    this.losses = [];
    appendFileSync(join(this.dir, 'metrics.jsonl'), `${JSON.stringify({ ...epochJson(e), train_loss: trainLoss, lr: this.lastLr })}\n`);
    const val = e.val ? `, val acc@1 ${e.val.acc1.toFixed(2)} acc@5 ${e.val.acc5.toFixed(2)} loss ${e.val.loss.toFixed(4)}` : '';
    this.line(
      `epoch ${e.epoch} done in ${e.seconds.toFixed(1)} s (waited ${e.dataWaitSeconds.toFixed(1)} s for data), train loss ${trainLoss.toFixed(4)}${val}${e.checkpoint ? `, saved ${e.checkpoint}` : ''}`,
    );
    this.points.push({ epoch: e.epoch, trainLoss, lr: this.lastLr, valLoss: e.val?.loss, valAcc1: e.val?.acc1, valAcc5: e.val?.acc5 });
    const tmp = join(this.dir, `.curves.svg.${process.pid}.tmp`);
    writeFileSync(tmp, await curvesSvg(this.points));
    renameSync(tmp, join(this.dir, 'curves.svg'));
  }
}

/**
 * Trains on ready batches or an ImageFolder dataset.
 *
 * @example
 * ```ts
 * await train({ arch, config, settings, data: batchFolderData(listBatches('steps')), init: { kind: 'scratch' }, out: 'run' });
 * ```
 */
export async function train(o: TrainRunOptions): Promise<TrainResult> {
  try {
    return await runTraining(o);
  } finally {
    await o.data.close();
  }
}

/** What a finished run leaves. */
export interface TrainResult {
  /** Final weights by our names. */
  readonly params: ReadonlyMap<string, Float32Array>;
  /** Final EMA weights, with `--model-ema`. */
  readonly ema: ReadonlyMap<string, Float32Array> | null;
  /** Every step of this run. */
  readonly records: readonly StepRecord[];
  /** The run was stopped before its last epoch; `last.pth` holds where it stopped. */
  readonly stopped: boolean;
}

/** The starting point of a run, as files. */
function startFrom(init: InitialWeights): StartFrom {
  if (init.kind === 'scratch') return init;
  if (init.kind === 'checkpoint') return { kind: 'checkpoint', name: init.file, open: () => openCheckpoint(init.file) };
  return { kind: 'resume', source: new FileSource(init.file) };
}

/** The run itself; {@link train} closes the data source (its worker threads) whatever happens. */
async function runTraining(o: TrainRunOptions): Promise<TrainResult> {
  const [h, w] = o.arch.family.inputSize(o.arch.args);
  const input = [o.arch.args.in_chans as number, h, w];
  o.data.check(input, o.arch.args.num_classes as number, o.settings.batch);
  const frozen = freezePredicate(o.arch, o.freeze);
  const createdOut = o.out !== undefined && !existsSync(o.out);
  if (o.out) prepareOutput(o.out, o.init.kind === 'resume' ? o.init.file : null);
  const { weights, resume } = startingState(o.arch, o.settings, startFrom(o.init), o);
  const trainer = await Trainer.create(o.arch, {
    settings: o.settings,
    stepsPerEpoch: o.data.steps,
    weights,
    runtime: nodeStepRuntime(o.threads ? { threads: o.threads } : {}),
    seed: o.seed,
    ...(resume ? { resume } : {}),
    ...(frozen ? { frozen } : {}),
  });
  const log = o.out ? new RunLog(o.out) : null;
  const last = o.out ? join(o.out, 'last.pth') : null;
  try {
    o.onReady?.(trainer);
    const result = await trainEpochs(trainer, o.data, resume?.within?.step ?? 0, {
      config: o.config.tree,
      ...(o.saveGrads ? { onFirstGradients: (grads) => saveGradients(o.saveGrads!, trainer, grads) } : {}),
      onStep: (rec, steps) => {
        log?.step(rec);
        o.onStep?.(rec, steps);
      },
      save: async (root, at) => {
        if (!o.out || !last) return null;
        if (at.stepInEpoch > 0) {
          saveTorch(last, root);
          log?.line(`stopped at epoch ${at.epoch + 1}, step ${at.stepInEpoch}; ${last} holds the state`);
          return last;
        }
        const saved = join(o.out, `ckpt_epoch_${at.epoch}.pth`);
        saveTorch(saved, root);
        saveTorch(last, root);
        if (at.best) saveTorch(join(o.out, 'max_acc.pth'), root);
        return saved;
      },
      onEpoch: async (e) => {
        await log?.epoch(e);
        o.onEpoch?.(e);
      },
      ...(o.stop ? { stop: o.stop } : {}),
      kept: () => (last && existsSync(last) ? `${last} (the last good checkpoint) is kept` : 'no checkpoint was written'),
    });
    return { params: result.snapshot.params, ema: result.snapshot.ema, records: result.records, stopped: result.stopped };
  } catch (e) {
    // data that turns out unreadable before any checkpoint: the folder this run made holds nothing worth keeping
    if (createdOut && e instanceof FlattenError && e.code === 'input' && last && !existsSync(last))
      rmSync(o.out!, { recursive: true, force: true });
    throw e;
  } finally {
    await trainer.release();
  }
}
