/**
 * A whole training run, as `main_ema.py` runs it: the initial weights (fresh, a
 * checkpoint's, or a run to resume), every epoch from the start epoch to `EPOCHS + COOLDOWN_EPOCHS`,
 * and after each epoch `ckpt_epoch_N.pth` and `last.pth` in the output folder.
 */
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { openCheckpoint } from '../checkpoint/open.js';
import { encodeSafetensors } from '../checkpoint/safetensors.js';
import { checkFit, weightLookup } from '../model_base.js';
import { mapStateDict } from '../models/mapping.js';
import type { ParamSpec } from '../graph/graph.js';
import { defineModel } from '../models/define.js';
import type { Architecture } from '../models/registry.js';
import { orderedParams } from '../models/state_order.js';
import type { Tensor } from '../tensor.js';
import { FlattenError } from '../util/errors.js';
import { readResumeCheckpoint, saveTrainingCheckpoint } from './checkpoint.js';
import type { TrainingConfig } from './config.js';
import { smoothedTargets } from './criterion.js';
import type { TrainData } from './data.js';
import { parseFreeze } from './freeze.js';
import { initialWeights } from './init.js';
import { mixupBatch } from './mixup.js';
import { curvesSvg, type EpochPoint } from './curves.js';
import { paramGroups } from './optimizer.js';
import type { TrainSettings } from './settings.js';
import { type StepRecord, Trainer } from './trainer.js';
import { validate, type Validation } from './validate.js';

/** Where the initial weights come from. */
export type InitialWeights = { kind: 'scratch' } | { kind: 'checkpoint'; file: string } | { kind: 'resume'; file: string };

/** Options of {@link trainOnBatches}. */
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
  readonly onStep?: (rec: StepRecord, steps: number) => void;
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

/** The `--freeze` predicate, if any. */
function freezeOf(o: TrainRunOptions): ((p: ParamSpec) => boolean) | undefined {
  const stages = (o.arch.args.depths ?? o.arch.args.depth) as number[] | number;
  return o.freeze ? parseFreeze(o.freeze, Array.isArray(stages) ? stages.length : 1) : undefined;
}

/** Initial weights and resume state. */
function initialState(o: TrainRunOptions) {
  const def = defineModel(o.arch);
  if (o.init.kind === 'scratch') return { weights: initialWeights(def.params, o.arch.family, o.seed ?? 0), resume: undefined };
  if (o.init.kind === 'checkpoint') {
    const sd = openCheckpoint(o.init.file);
    try {
      // the official load_pretrained: a head of another class count is dropped and set to zero
      const shapes = new Map([...sd.tensors].map(([k, t]) => [k, t.shape] as const));
      const report = mapStateDict(def.params, shapes);
      const headOnly = report.mismatched.length > 0 && report.mismatched.every((m) => /^head\.(weight|bias)$/.test(m.key));
      if (headOnly && report.missing.length === 0 && report.unexpected.length === 0) {
        o.onWarning?.(
          `${o.init.file}: its head has ${report.mismatched[0].found[0]} classes and the model ${report.mismatched[0].expected[0]}; the head starts from zero, as the official load_pretrained re-initialises it`,
        );
        const lookup = weightLookup(sd, report, []);
        const weights = new Map(
          def.params.map((p) => [
            p.name,
            report.sources.has(p.name) ? lookup(p.name) : new Float32Array(p.shape.reduce((a, b) => a * b, 1)),
          ]),
        );
        return { weights, resume: undefined };
      }
      const mapping = checkFit(def, sd, 'check --arch and --cfg against the checkpoint');
      const lookup = weightLookup(sd, mapping, []);
      return { weights: new Map(def.params.map((p) => [p.name, lookup(p.name)])), resume: undefined };
    } finally {
      sd.close();
    }
  }
  const frozen = freezeOf(o);
  const ordered = orderedParams(def.graph);
  const groups = paramGroups(
    ordered.filter((p) => !frozen?.(p)),
    o.arch.family,
    o.settings.optimizer.weightDecay,
    0,
  );
  const r = readResumeCheckpoint(o.init.file, ordered, groups, o.settings.optimizer.name);
  return { weights: r.weights, resume: r.state };
}

/** An epoch's batches with the load of its first batch already started. */
function openEpoch(data: TrainData, epoch: number, from: number) {
  const batches = data.epoch(epoch, from)[Symbol.asyncIterator]();
  const head = batches.next();
  head.catch(() => undefined); // awaited when the epoch starts; a run that ends first must not leave it unhandled
  return { batches, head };
}

/** What an epoch reports (the `--json` epoch line). */
export interface EpochRecord {
  /** 1-based, as the official `epoch + 1`. */
  readonly epoch: number;
  readonly seconds: number;
  /** Time the training steps spent waiting for their batch. */
  readonly dataWaitSeconds: number;
  /** Time of the epoch's steps, waits included (validation and saving excluded). */
  readonly stepsSeconds: number;
  readonly checkpoint: string | null;
  readonly val: Validation | null;
  readonly valEma: Validation | null;
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

/** The run itself; {@link train} closes the data source (its worker threads) whatever happens. */
async function runTraining(o: TrainRunOptions): Promise<TrainResult> {
  const [h, w] = o.arch.family.inputSize(o.arch.args);
  const input = [o.arch.args.in_chans as number, h, w];
  o.data.check(input, o.arch.args.num_classes as number, o.settings.batch);
  freezeOf(o);
  if (o.out) prepareOutput(o.out, o.init.kind === 'resume' ? o.init.file : null);
  const { weights, resume } = initialState(o);
  const steps = o.data.steps;
  const classes = o.data.classes ? { classes: o.data.classes } : {};
  // the first batch loads while the training graph is built; each next epoch's while validating
  let upcoming = openEpoch(o.data, resume?.epoch ?? 0, resume?.within?.step ?? 0);
  const trainer = await Trainer.create(o.arch, {
    settings: o.settings,
    stepsPerEpoch: steps,
    weights,
    runtime: o.threads ? { threads: o.threads } : {},
    seed: o.seed,
    ...(resume ? { resume } : {}),
    ...(o.freeze ? { frozen: freezeOf(o) } : {}),
  });
  const records: StepRecord[] = [];
  const log = o.out ? new RunLog(o.out) : null;
  const last = o.out ? join(o.out, 'last.pth') : null;
  try {
    o.onReady?.(trainer);
    const K = trainer.graph.numClasses;
    let gradsWanted = o.saveGrads !== undefined;
    let first = resume?.within?.step ?? 0;
    for (let epoch = trainer.epoch; epoch < o.settings.totalEpochs; epoch++) {
      trainer.epoch = epoch;
      const start = performance.now();
      let waited = 0;
      const { batches, head } = upcoming;
      for (let idx = first; idx < steps; idx++) {
        const asked = performance.now();
        const next = idx === first ? await head : await batches.next();
        waited += performance.now() - asked;
        if (next.done) break;
        const { x, labels, source } = next.value;
        const targets = o.settings.mixing
          ? mixupBatch(x.data, x.shape, labels, { ...o.settings.mixing, numClasses: K }, trainer.mixupRandom.uniform)
          : smoothedTargets(labels, K, o.settings.labelSmoothing, source);
        let rec: StepRecord;
        try {
          rec = await trainer.step(x, targets, idx, source, (grads) => {
            if (!gradsWanted) return;
            gradsWanted = false;
            saveGradients(o.saveGrads!, trainer, grads);
          });
        } catch (e) {
          if (e instanceof FlattenError && e.code === 'training') {
            const kept = last && existsSync(last) ? `${last} (the last good checkpoint) is kept` : 'no checkpoint was written';
            throw new FlattenError('training', `${e.message}; the run stops, ${kept}`);
          }
          throw e;
        }
        records.push(rec);
        log?.step(rec);
        o.onStep?.(rec, steps);
        if (o.stop?.requested && idx + 1 < steps) {
          if (last) saveTrainingCheckpoint(last, trainer, o.config.tree, epoch, { stepInEpoch: idx + 1, ...classes });
          log?.line(`stopped at epoch ${epoch + 1}, step ${idx + 1}${last ? `; ${last} holds the state` : ''}`);
          return { params: trainer.params, ema: trainer.ema?.weights ?? null, records, stopped: true };
        }
      }
      first = 0;
      const dataWaitSeconds = waited / 1000;
      const stepsSeconds = (performance.now() - start) / 1000;
      if (epoch + 1 < o.settings.totalEpochs) upcoming = openEpoch(o.data, epoch + 1, 0);
      const valSet = o.data.validation();
      const val = valSet ? await validate(o.arch, trainer.params, valSet, o.threads) : null;
      const emaSet = trainer.ema ? o.data.validation() : null;
      const valEma = emaSet && trainer.ema ? await validate(o.arch, trainer.ema.weights, emaSet, o.threads) : null;
      const best = val !== null && val.acc1 >= trainer.maxAccuracy;
      if (val) trainer.maxAccuracy = Math.max(trainer.maxAccuracy, val.acc1);
      if (valEma) trainer.maxAccuracyEma = Math.max(trainer.maxAccuracyEma, valEma.acc1);
      let saved: string | null = null;
      if (o.out && last) {
        saved = join(o.out, `ckpt_epoch_${epoch + 1}.pth`);
        saveTrainingCheckpoint(saved, trainer, o.config.tree, epoch + 1, classes);
        saveTrainingCheckpoint(last, trainer, o.config.tree, epoch + 1, classes);
        if (best) saveTrainingCheckpoint(join(o.out, 'max_acc.pth'), trainer, o.config.tree, epoch + 1, classes);
      }
      const rec: EpochRecord = {
        epoch: epoch + 1,
        seconds: (performance.now() - start) / 1000,
        dataWaitSeconds,
        stepsSeconds,
        checkpoint: saved,
        val,
        valEma,
      };
      await log?.epoch(rec);
      o.onEpoch?.(rec);
      if (o.stop?.requested && epoch + 1 < o.settings.totalEpochs) {
        return { params: trainer.params, ema: trainer.ema?.weights ?? null, records, stopped: true };
      }
    }
    return { params: trainer.params, ema: trainer.ema?.weights ?? null, records, stopped: false };
  } finally {
    await trainer.release();
  }
}
