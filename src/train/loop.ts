/**
 * The official epoch loop, wherever it runs (Node's `train` and the browser's `WebTrainer` both call
 * it): the starting weights — fresh, a checkpoint's with a new head as `load_pretrained` makes it, or
 * a run to resume — then every epoch from the start epoch to `EPOCHS + COOLDOWN_EPOCHS`: each batch's
 * soft targets (mixup/cutmix or label smoothing), the step, then validation of the weights and the
 * EMA, and the checkpoint. Where checkpoints go and how progress is shown are the caller's hooks.
 */
import type { StateDict } from '../checkpoint/lazy.js';
import type { ByteSource } from '../checkpoint/source.js';
import type { PyValue } from '../checkpoint/pickle_writer.js';
import type { ParamSpec } from '../graph/graph.js';
import { checkFit, weightLookup } from '../model_base.js';
import { defineModel } from '../models/define.js';
import { mapStateDict } from '../models/mapping.js';
import type { Architecture } from '../models/registry.js';
import { orderedParams } from '../models/state_order.js';
import { numel } from '../tensor.js';
import { FlattenError } from '../util/errors.js';
import { readResumeCheckpoint, trainingCheckpoint } from './checkpoint.js';
import type { ConfigTree } from './config.js';
import { smoothedTargets } from './criterion.js';
import type { TrainData } from './train_data.js';
import { parseFreeze } from './freeze.js';
import { initialWeights } from './init.js';
import { mixupBatch } from './mixup.js';
import { paramGroups } from './optimizer.js';
import type { TrainSettings } from './settings.js';
import type { ResumeState, StepRecord, Trainer, TrainerSnapshot } from './trainer.js';
import type { Validation } from './validate.js';

/** Where a run's first weights come from: fresh ones, a checkpoint's state dict, or a run to resume. */
export type StartFrom =
  | { readonly kind: 'scratch' }
  | { readonly kind: 'checkpoint'; readonly open: () => StateDict; readonly name: string }
  | { readonly kind: 'resume'; readonly source: ByteSource };

/** The `--freeze` predicate of an architecture, if any (`backbone` or `stages:A-B`). */
export function freezePredicate(arch: Architecture, freeze: string | undefined): ((p: ParamSpec) => boolean) | undefined {
  const stages = (arch.args.depths ?? arch.args.depth) as number[] | number;
  return freeze ? parseFreeze(freeze, Array.isArray(stages) ? stages.length : 1) : undefined;
}

/**
 * The starting weights, and the state to resume from.
 *
 * @example
 * ```ts
 * const { weights, resume } = startingState(arch, settings, { kind: 'scratch' }, { seed: 0 });
 * ```
 */
export function startingState(
  arch: Architecture,
  settings: TrainSettings,
  from: StartFrom,
  o: { seed?: number; freeze?: string; onWarning?: (message: string) => void },
): { weights: Map<string, Float32Array>; resume: ResumeState | undefined } {
  const def = defineModel(arch);
  if (from.kind === 'scratch') return { weights: initialWeights(def.params, arch.family, o.seed ?? 0), resume: undefined };
  if (from.kind === 'checkpoint') {
    const sd = from.open();
    try {
      // the official load_pretrained: a head of another class count is dropped and set to zero
      const shapes = new Map([...sd.tensors].map(([k, t]) => [k, t.shape] as const));
      const report = mapStateDict(def.params, shapes);
      const headOnly = report.mismatched.length > 0 && report.mismatched.every((m) => /^head\.(weight|bias)$/.test(m.key));
      if (headOnly && report.missing.length === 0 && report.unexpected.length === 0) {
        o.onWarning?.(
          `${from.name}: its head has ${report.mismatched[0].found[0]} classes and the model ${report.mismatched[0].expected[0]}; the head starts from zero, as the official load_pretrained re-initialises it`,
        );
        const lookup = weightLookup(sd, report, []);
        const weights = new Map(
          def.params.map((p) => [p.name, report.sources.has(p.name) ? lookup(p.name) : new Float32Array(numel(p.shape))]),
        );
        return { weights, resume: undefined };
      }
      const mapping = checkFit(def, sd, 'check the architecture against the checkpoint');
      const lookup = weightLookup(sd, mapping, []);
      return { weights: new Map(def.params.map((p) => [p.name, lookup(p.name)])), resume: undefined };
    } finally {
      sd.close();
    }
  }
  const frozen = freezePredicate(arch, o.freeze);
  const ordered = orderedParams(def.graph);
  const groups = paramGroups(
    ordered.filter((p) => !frozen?.(p)),
    arch.family,
    settings.optimizer.weightDecay,
    0,
  );
  const r = readResumeCheckpoint(from.source, ordered, groups, settings.optimizer.name);
  return { weights: r.weights, resume: r.state };
}

/** What an epoch reports. */
export interface EpochRecord {
  /** 1-based, as the official `epoch + 1`. */
  readonly epoch: number;
  readonly seconds: number;
  /** Time the training steps spent waiting for their batch. */
  readonly dataWaitSeconds: number;
  /** Time of the epoch's steps, waits included (validation and saving excluded). */
  readonly stepsSeconds: number;
  /** Where the checkpoint went (a file), or null. */
  readonly checkpoint: string | null;
  readonly val: Validation | null;
  readonly valEma: Validation | null;
}

/** What the loop does at the points where a caller keeps or shows something. */
export interface LoopHooks {
  /** The config stored in checkpoints. */
  readonly config: ConfigTree;
  /** Called before every step; a paused run waits here. */
  readonly beforeStep?: () => Promise<void>;
  /** The first step's gradients (our names, before clipping), when wanted. */
  readonly onFirstGradients?: (grads: ReadonlyMap<string, Float32Array>) => void;
  readonly onStep?: (rec: StepRecord, steps: number) => void;
  /**
   * Keeps a checkpoint: after an epoch (`best` when its accuracy is the best so far), or of a run
   * stopped within an epoch. Returns where it went, for the epoch record.
   */
  readonly save?: (root: PyValue, at: { epoch: number; stepInEpoch: number; best: boolean }) => Promise<string | null>;
  readonly onEpoch?: (e: EpochRecord) => Promise<void> | void;
  /** Set `requested` (Ctrl-C, the Stop button) to end the run after the current step, with a checkpoint. */
  readonly stop?: { requested: boolean };
  /** A step that fails stops the run; this says what the caller kept, for the message. */
  readonly kept?: () => string;
}

/** What a finished or stopped loop leaves. */
export interface LoopResult {
  readonly records: readonly StepRecord[];
  readonly stopped: boolean;
  /** The final weights, optimizer state and EMA. */
  readonly snapshot: TrainerSnapshot;
}

/** An epoch's batches with the load of its first batch already started. */
function openEpoch(data: TrainData, epoch: number, from: number) {
  const batches = data.epoch(epoch, from)[Symbol.asyncIterator]();
  const head = batches.next();
  head.catch(() => undefined); // awaited when the epoch starts; a run that ends first must not leave it unhandled
  return { batches, head };
}

/**
 * Runs the epochs of a built trainer over its data, from where `resume` says (the trainer's epoch and
 * `fromStep` within it).
 *
 * @example
 * ```ts
 * const { records } = await trainEpochs(trainer, data, 0, { config: config.tree, onStep: (r) => console.log(r.loss) });
 * ```
 */
export async function trainEpochs(trainer: Trainer, data: TrainData, fromStep: number, h: LoopHooks): Promise<LoopResult> {
  const steps = data.steps;
  const K = trainer.graph.numClasses;
  const settings = trainer.settings;
  const classes = data.classes ? { classes: data.classes } : {};
  const records: StepRecord[] = [];
  let gradsWanted = h.onFirstGradients !== undefined;
  let first = fromStep;
  let upcoming = openEpoch(data, trainer.epoch, first);
  let snapshot: TrainerSnapshot | null = null;
  for (let epoch = trainer.epoch; epoch < settings.totalEpochs; epoch++) {
    trainer.epoch = epoch;
    const start = performance.now();
    let waited = 0;
    const { batches, head } = upcoming;
    for (let idx = first; idx < steps; idx++) {
      await h.beforeStep?.();
      const asked = performance.now();
      const next = idx === first ? await head : await batches.next();
      waited += performance.now() - asked;
      if (next.done) break;
      const { x, labels, source } = next.value;
      const targets = settings.mixing
        ? mixupBatch(x.data, x.shape, labels, { ...settings.mixing, numClasses: K }, trainer.mixupRandom.uniform)
        : smoothedTargets(labels, K, settings.labelSmoothing, source);
      let rec: StepRecord;
      try {
        const first = gradsWanted ? h.onFirstGradients : undefined;
        gradsWanted = false;
        rec = await trainer.step(x, targets, idx, source, first);
      } catch (e) {
        if (e instanceof FlattenError && e.code === 'training')
          throw new FlattenError('training', `${e.message}; the run stops, ${h.kept?.() ?? 'no checkpoint was kept'}`);
        throw e;
      }
      records.push(rec);
      h.onStep?.(rec, steps);
      if (h.stop?.requested && idx + 1 < steps) {
        snapshot = await trainer.snapshot();
        await h.save?.(trainingCheckpoint(trainer, snapshot, h.config, epoch, { stepInEpoch: idx + 1, ...classes }), {
          epoch,
          stepInEpoch: idx + 1,
          best: false,
        });
        return { records, stopped: true, snapshot };
      }
    }
    first = 0;
    const dataWaitSeconds = waited / 1000;
    const stepsSeconds = (performance.now() - start) / 1000;
    if (epoch + 1 < settings.totalEpochs) upcoming = openEpoch(data, epoch + 1, 0);
    const valSet = data.validation();
    const val = valSet ? await trainer.evaluate(valSet) : null;
    const emaSet = trainer.hasEma ? data.validation() : null;
    const valEma = emaSet ? await trainer.evaluate(emaSet, true) : null;
    const best = val !== null && val.acc1 >= trainer.maxAccuracy;
    if (val) trainer.maxAccuracy = Math.max(trainer.maxAccuracy, val.acc1);
    if (valEma) trainer.maxAccuracyEma = Math.max(trainer.maxAccuracyEma, valEma.acc1);
    snapshot = await trainer.snapshot();
    const root = trainingCheckpoint(trainer, snapshot, h.config, epoch + 1, classes);
    const checkpoint = (await h.save?.(root, { epoch: epoch + 1, stepInEpoch: 0, best })) ?? null;
    await h.onEpoch?.({
      epoch: epoch + 1,
      seconds: (performance.now() - start) / 1000,
      dataWaitSeconds,
      stepsSeconds,
      checkpoint,
      val,
      valEma,
    });
    if (h.stop?.requested && epoch + 1 < settings.totalEpochs) return { records, stopped: true, snapshot };
  }
  snapshot ??= await trainer.snapshot();
  return { records, stopped: false, snapshot };
}
