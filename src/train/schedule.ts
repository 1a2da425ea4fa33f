/**
 * The learning-rate schedules of the official `lr_scheduler.py`, per iteration (`t_in_epochs=False`):
 * timm's `CosineLRScheduler` (the default), the official `LinearLRScheduler` and timm's
 * `StepLRScheduler`, each with a linear warm-up from `WARMUP_LR`. As in PyTorch, the rate a step
 * uses is the one set after the previous step: `WARMUP_LR` (or the base rate without warm-up) for
 * step 0, and lr(t − 1) for step t ≥ 1, since `step_update(t)` runs after step t.
 */

/** What a schedule needs, in iterations. */
export interface ScheduleSettings {
  readonly name: 'cosine' | 'linear' | 'step';
  /** The (already batch-scaled) base rate of each parameter group. */
  readonly baseLrs: readonly number[];
  readonly warmupLr: number;
  readonly minLr: number;
  /** `int(EPOCHS × steps_per_epoch)`. */
  readonly tInitial: number;
  /** `int(WARMUP_EPOCHS × steps_per_epoch)`. */
  readonly warmupT: number;
  /** `int(DECAY_EPOCHS × steps_per_epoch)`, for `step`. */
  readonly decayT: number;
  /** `DECAY_RATE`, for `step`. */
  readonly decayRate: number;
}

/** The rates of every group after `step_update(t)`. */
export function learningRates(s: ScheduleSettings, t: number): number[] {
  if (s.warmupT > 0 && t < s.warmupT) return s.baseLrs.map((v) => s.warmupLr + t * ((v - s.warmupLr) / s.warmupT));
  switch (s.name) {
    case 'cosine': {
      // cycle_limit 1, cycle_mul 1, cycle_decay 1, k_decay 1: the cosine over t_initial, then MIN_LR
      const i = Math.floor(t / s.tInitial);
      const tCurr = t - s.tInitial * i;
      if (i >= 1) return s.baseLrs.map(() => s.minLr);
      return s.baseLrs.map((v) => s.minLr + 0.5 * (v - s.minLr) * (1 + Math.cos((Math.PI * tCurr) / s.tInitial)));
    }
    case 'linear': {
      // the official LinearLRScheduler, lr_min_rate 0.01
      const tt = t - s.warmupT;
      const total = s.tInitial - s.warmupT;
      return s.baseLrs.map((v) => v - (v - v * 0.01) * (tt / total));
    }
    case 'step':
      return s.baseLrs.map((v) => v * s.decayRate ** Math.floor(t / s.decayT));
  }
}

/** The rates the groups hold before the first step (the scheduler's constructor sets them). */
export function initialRates(s: ScheduleSettings): number[] {
  return s.warmupT > 0 ? s.baseLrs.map(() => s.warmupLr) : [...s.baseLrs];
}
