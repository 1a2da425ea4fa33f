/**
 * Training checkpoints in the official layout, both ways. Written: `{'model', 'optimizer',
 * 'lr_scheduler', 'max_accuracy', 'epoch', 'config'}` plus `'max_accuracy_e'` and `'state_dict_ema'`
 * with an EMA, as `main_ema.py` saves them — the model and EMA state dicts in PyTorch's key order with
 * their buffers, the optimizer as PyTorch's AdamW/SGD `state_dict()` (per-parameter state keyed by
 * the index of the parameter in the official group order), the scheduler as timm's `state_dict()`,
 * and the config as a plain dict (so `torch.load(weights_only=True)` reads the file without yacs).
 * Read: the same file, written here or by the official code, to resume a run.
 */
import type { Graph, ParamSpec } from '../graph/graph.js';
import type { LazyTensor } from '../checkpoint/lazy.js';
import { pyFloat, PyOrderedDict, PyTensor, pyTuple, type PyValue } from '../checkpoint/pickle_writer.js';
import type { ByteSource } from '../checkpoint/source.js';
import { keyText } from '../checkpoint/pickle.js';
import { readTorchTree } from '../checkpoint/torch.js';
import { describeMismatch, mapStateDict } from '../models/mapping.js';
import { officialOrder } from '../models/state_order.js';
import { FlattenError } from '../util/errors.js';
import type { ConfigTree, ConfigValue } from './config.js';
import type { ParamGroup, ParamState } from './optimizer.js';
import type { ScheduleSettings } from './schedule.js';
import type { ResumeState, Trainer, TrainerSnapshot } from './trainer.js';

/** A state dict in PyTorch's order: parameters from `weights`, buffers from the graph. */
function stateDict(g: Graph, weights: ReadonlyMap<string, Float32Array>): PyOrderedDict {
  const params = new Map([...g.params.values()].map((p) => [p.official, p]));
  const buffers = new Map([...g.buffers.values()].map((b) => [b.official, b]));
  const entries: [PyValue, PyValue][] = [];
  for (const key of officialOrder(g.declared)) {
    const p = params.get(key);
    if (p) entries.push([key, new PyTensor('float32', p.shape, weights.get(p.name)!)]);
    const b = buffers.get(key);
    if (b) entries.push([key, new PyTensor(b.dtype, b.shape, b.data())]);
  }
  return new PyOrderedDict(entries);
}

/** Indices of the parameters as `optimizer.state_dict()` numbers them: through the groups in order. */
function groupIndices(groups: readonly ParamGroup[]): Map<string, number> {
  const ids = new Map<string, number>();
  for (const g of groups) for (const name of g.params) ids.set(name, ids.size);
  return ids;
}

/** PyTorch's `optimizer.state_dict()`. */
function optimizerState(t: Trainer, snap: TrainerSnapshot): Map<PyValue, PyValue> {
  const ids = groupIndices(t.groups);
  const shapes = new Map(t.graph.params.map((p) => [p.name, p.shape]));
  const state = new Map<PyValue, PyValue>();
  const set = t.settings.optimizer;
  for (const [name, id] of ids) {
    const s = snap.optimizerState.get(name);
    if (!s) continue;
    const shape = shapes.get(name)!;
    const entry = new Map<PyValue, PyValue>();
    if (set.name === 'adamw') {
      entry.set('step', new PyTensor('float32', [], Float32Array.of(s.step)));
      entry.set('exp_avg', new PyTensor('float32', shape, s.expAvg!));
      entry.set('exp_avg_sq', new PyTensor('float32', shape, s.expAvgSq!));
    } else entry.set('momentum_buffer', new PyTensor('float32', shape, s.momentumBuffer!));
    state.set(id, entry);
  }
  const groups = t.groups.map((g, i) => {
    const m = new Map<PyValue, PyValue>();
    if (i > 0) m.set('weight_decay', pyFloat(g.weightDecay));
    m.set('lr', pyFloat(g.lr));
    if (set.name === 'adamw') {
      m.set('betas', pyTuple(pyFloat(set.betas[0]), pyFloat(set.betas[1])));
      m.set('eps', pyFloat(set.eps));
      if (i === 0) m.set('weight_decay', pyFloat(g.weightDecay));
      m.set('amsgrad', false);
    } else {
      m.set('momentum', pyFloat(set.momentum));
      m.set('dampening', 0);
      if (i === 0) m.set('weight_decay', pyFloat(g.weightDecay));
      m.set('nesterov', true);
    }
    m.set('foreach', null);
    m.set('maximize', false);
    if (set.name === 'adamw') m.set('capturable', false);
    else m.set('differentiable', false);
    m.set('initial_lr', pyFloat(g.initialLr));
    m.set(
      'params',
      g.params.map((n) => ids.get(n)!),
    );
    return m;
  });
  return new Map<PyValue, PyValue>([
    ['state', state],
    ['param_groups', groups],
  ]);
}

function configValue(v: ConfigValue): PyValue {
  if (Array.isArray(v)) return v.map(configValue);
  if (v !== null && typeof v === 'object') return new Map(Object.entries(v as ConfigTree).map(([k, x]) => [k, configValue(x)]));
  if (typeof v === 'number' && !Number.isInteger(v)) return pyFloat(v);
  return v as PyValue;
}

const floats = (v: readonly number[]): PyValue[] => v.map((x) => pyFloat(x));

/** The config as the official run holds it when it saves: the three learning rates scaled by `BATCH_SIZE / 512`. */
function runningConfig(config: ConfigTree): ConfigTree {
  const train = { ...(config.TRAIN as ConfigTree) };
  const scale = ((config.DATA as ConfigTree).BATCH_SIZE as number) / 512;
  for (const k of ['BASE_LR', 'WARMUP_LR', 'MIN_LR']) train[k] = (train[k] as number) * scale;
  return { ...config, TRAIN: train };
}

/**
 * flatten-vit's own entry (the official loader ignores it): the steps already done in `epoch` when a
 * run was interrupted within an epoch, and the random generators' states, so that `--resume`
 * continues exactly. The official code resumes such a file from the start of that epoch.
 */
const STATE_KEY = 'flatten_vit_state';

/** timm's `Scheduler.state_dict()`: every attribute of the scheduler but the optimizer. */
function schedulerState(s: ScheduleSettings): Map<PyValue, PyValue> {
  const f = pyFloat;
  const warmupSteps = s.baseLrs.map((v) => (s.warmupT > 0 ? (v - s.warmupLr) / s.warmupT : 1));
  const common: [PyValue, PyValue][] = [
    ['param_group_field', 'lr'],
    ['_initial_param_group_field', 'initial_lr'],
    ['base_values', floats(s.baseLrs)],
    ['metric', null],
    ['noise_range_t', null],
    ['noise_pct', f(0.67)],
    ['noise_type', 'normal'],
    ['noise_std', f(1)],
    ['noise_seed', 42],
  ];
  const warmup: [PyValue, PyValue][] = [
    ['warmup_t', s.warmupT],
    ['warmup_lr_init', f(s.warmupLr)],
  ];
  const own: Record<ScheduleSettings['name'], [PyValue, PyValue][]> = {
    cosine: [
      ['t_initial', s.tInitial],
      ['lr_min', f(s.minLr)],
      ['cycle_mul', f(1)],
      ['cycle_decay', f(1)],
      ['cycle_limit', 1],
      ...warmup,
      ['warmup_prefix', false],
      ['t_in_epochs', false],
      ['k_decay', f(1)],
    ],
    linear: [['t_initial', s.tInitial], ['lr_min_rate', f(0.01)], ...warmup, ['t_in_epochs', false]],
    step: [['decay_t', s.decayT], ['decay_rate', f(s.decayRate)], ...warmup, ['t_in_epochs', false]],
  };
  return new Map([...common, ...own[s.name], ['warmup_steps', floats(warmupSteps)]]);
}

/**
 * The checkpoint of `t` after `epoch` epochs (1-based, as the official `epoch + 1`), from its
 * snapshot: what `torch.save` writes (`saveTorch` to a file, `torchArchive` to bytes).
 *
 * @example
 * ```ts
 * const root = trainingCheckpoint(trainer, await trainer.snapshot(), config.tree, 1, { classes: ['cat', 'dog'] });
 * saveTorch('out/ckpt_epoch_1.pth', root);
 * ```
 */
export function trainingCheckpoint(
  t: Trainer,
  snap: TrainerSnapshot,
  config: ConfigTree,
  epoch: number,
  o: { stepInEpoch?: number; classes?: readonly string[] } = {},
): PyValue {
  const root = new Map<PyValue, PyValue>([
    ['model', stateDict(t.graph.graph, snap.params)],
    ['optimizer', optimizerState(t, snap)],
    ['lr_scheduler', schedulerState(t.schedule)],
    ['max_accuracy', pyFloat(t.maxAccuracy)],
  ]);
  if (snap.ema) root.set('max_accuracy_e', pyFloat(t.maxAccuracyEma));
  root.set('epoch', epoch);
  root.set('config', configValue(runningConfig(config)));
  if (snap.ema) root.set('state_dict_ema', stateDict(t.graph.graph, snap.ema));
  root.set(
    STATE_KEY,
    new Map<PyValue, PyValue>([
      ['step', o.stepInEpoch ?? 0],
      ['drop_path_rng', t.dropPathRandom.state],
      ['mixup_rng', t.mixupRandom.state],
    ]),
  );
  if (o.classes) root.set('classes', o.classes);
  return root;
}

const asMap = (v: unknown): Map<unknown, unknown> | null => (v instanceof Map ? v : null);
const isLazy = (v: unknown): v is LazyTensor => typeof v === 'object' && v !== null && 'read' in v && 'shape' in v;
const scalar = (v: unknown): number | null => (typeof v === 'number' ? v : isLazy(v) ? v.read()[0] : null);

/** Reads a state-dict entry of the checkpoint onto the parameters, or explains the mismatch. */
function readWeightsEntry(
  dict: Map<unknown, unknown>,
  params: readonly ParamSpec[],
  file: string,
  entry: string,
): Map<string, Float32Array> {
  const tensors = new Map<string, LazyTensor>();
  for (const [k, v] of dict) if (isLazy(v)) tensors.set(keyText(k), v);
  const report = mapStateDict(params, new Map([...tensors].map(([k, v]) => [k, v.shape])));
  if (report.missing.length || report.mismatched.length) {
    throw new FlattenError(
      'checkpoint',
      `${file}: its '${entry}' is for another architecture (${describeMismatch(report)}); check --arch and --cfg against the run that wrote it`,
    );
  }
  const out = new Map<string, Float32Array>();
  for (const p of params) out.set(p.name, tensors.get(report.sources.get(p.name)!)!.read());
  return out;
}

/** What resuming from a checkpoint restores. */
export interface ResumeCheckpoint {
  readonly weights: Map<string, Float32Array>;
  readonly state: ResumeState;
}

/**
 * Reads a training checkpoint (flatten-vit's or the official code's) for `--resume`: the weights,
 * the optimizer state mapped onto `groups` by position as PyTorch's `load_state_dict` maps it, the
 * group rates, the scheduler's settings, the epoch to start at and the EMA.
 */
export function readResumeCheckpoint(
  src: ByteSource,
  ordered: readonly ParamSpec[],
  groups: readonly ParamGroup[],
  optimizer: 'adamw' | 'sgd',
): ResumeCheckpoint {
  const file = src.name;
  const tree = readTorchTree(src);
  try {
    const root = asMap(tree.root);
    const bad = (msg: string) => new FlattenError('checkpoint', `${file}: ${msg}`);
    if (!root) throw bad('is not a training checkpoint (expected a dict with model, optimizer, lr_scheduler and epoch)');
    const model = asMap(root.get('model'));
    if (!model) throw bad("has no 'model' state dict; expected a training checkpoint");
    const opt = asMap(root.get('optimizer'));
    if (!opt || !asMap(opt.get('state')) || !Array.isArray(opt.get('param_groups'))) {
      throw bad('has no optimizer state, so the run cannot be resumed; use --checkpoint to start from its weights instead');
    }
    const epoch = scalar(root.get('epoch'));
    if (epoch === null || !Number.isInteger(epoch) || epoch < 0) throw bad("has no valid 'epoch'");
    const weights = readWeightsEntry(model, ordered, file, 'model');
    const saved = opt.get('param_groups') as unknown[];
    if (saved.length !== groups.length)
      throw bad(`its optimizer has ${saved.length} parameter groups; this model and optimizer have ${groups.length}`);
    const byId = new Map<number, string>();
    const groupLrs: number[] = [];
    saved.forEach((raw, gi) => {
      const g = asMap(raw);
      const ids = g?.get('params');
      if (!g || !Array.isArray(ids) || ids.length !== groups[gi].params.length) {
        throw bad(
          `its optimizer's group ${gi} has ${Array.isArray(ids) ? ids.length : 'no'} parameters; expected ${groups[gi].params.length} (another architecture?)`,
        );
      }
      ids.forEach((id, j) => byId.set(Number(id), groups[gi].params[j]));
      groupLrs.push(scalar(g.get('lr')) ?? 0);
    });
    const shapes = new Map(ordered.map((p) => [p.name, p.shape]));
    const optimizerState = new Map<string, ParamState>();
    for (const [id, raw] of asMap(opt.get('state'))!) {
      const name = byId.get(Number(id));
      const s = asMap(raw);
      if (!name || !s) throw bad(`its optimizer state refers to parameter ${keyText(id)}, which no group holds`);
      const read = (key: string): Float32Array => {
        const t = s.get(key);
        const want = shapes.get(name)!;
        if (!isLazy(t) || t.shape.length !== want.length || t.shape.some((d, i) => d !== want[i])) {
          throw bad(
            `its optimizer's ${key} for ${name} does not have the parameter's shape (${want.join(', ')}); another architecture or optimizer?`,
          );
        }
        return t.read();
      };
      if (optimizer === 'adamw') {
        if (!s.has('exp_avg')) throw bad('holds SGD state but the configuration asks for AdamW (TRAIN.OPTIMIZER.NAME)');
        optimizerState.set(name, { step: scalar(s.get('step')) ?? 0, expAvg: read('exp_avg'), expAvgSq: read('exp_avg_sq') });
      } else {
        if (!s.has('momentum_buffer')) throw bad('holds AdamW state but the configuration asks for SGD (TRAIN.OPTIMIZER.NAME)');
        optimizerState.set(name, { step: 1, momentumBuffer: read('momentum_buffer') });
      }
    }
    const sched = asMap(root.get('lr_scheduler'));
    const num = (k: string) => (sched ? scalar(sched.get(k)) : null);
    const base = sched?.get('base_values');
    const schedule = {
      ...(num('t_initial') !== null ? { tInitial: num('t_initial')! } : {}),
      ...(num('warmup_t') !== null ? { warmupT: num('warmup_t')! } : {}),
      ...(num('warmup_lr_init') !== null ? { warmupLr: num('warmup_lr_init')! } : {}),
      ...(num('lr_min') !== null ? { minLr: num('lr_min')! } : {}),
      ...(Array.isArray(base) ? { baseLrs: base.map((v) => scalar(v) ?? 0) } : {}),
    };
    const emaDict = asMap(root.get('state_dict_ema'));
    const own = asMap(root.get(STATE_KEY));
    const ownInt = (k: string) => {
      const v = own ? scalar(own.get(k)) : null;
      return v !== null && Number.isSafeInteger(v) && v >= 0 ? v : null;
    };
    const step = ownInt('step');
    const dropPath = ownInt('drop_path_rng');
    const mixup = ownInt('mixup_rng');
    return {
      weights,
      state: {
        epoch,
        maxAccuracy: scalar(root.get('max_accuracy')) ?? 0,
        maxAccuracyEma: scalar(root.get('max_accuracy_e')) ?? 0,
        optimizerState,
        groupLrs,
        schedule,
        ema: emaDict ? readWeightsEntry(emaDict, ordered, file, 'state_dict_ema') : null,
        ...(step !== null && dropPath !== null && mixup !== null ? { within: { step, dropPath, mixup } } : {}),
      },
    };
  } finally {
    tree.close();
  }
}
