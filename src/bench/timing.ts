/**
 * Timing an async operation the way every benchmark here does: warm up, then repeat for at least a
 * given time and take the median.
 */

/** Median and count of repeated timings, in milliseconds. */
export interface Timing {
  medianMs: number;
  runs: number;
}

/**
 * Runs `fn` `warmup` times, then repeatedly for at least `seconds` (and at least 3 times).
 *
 * @example
 * ```ts
 * const t = await timeRepeated(() => model.predict(x), 5);
 * ```
 */
export async function timeRepeated(fn: () => Promise<unknown>, seconds: number, warmup = 2): Promise<Timing> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < 3 || performance.now() - start < seconds * 1000) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  return { medianMs: median(times), runs: times.length };
}

/** An interleaved timing: the median over all rounds, and each round's median on its own. */
export interface InterleavedTiming extends Timing {
  /** The median of each round's counted runs, in round order. */
  roundMs: number[];
}

/**
 * Times several operations side by side: rounds in which each runs `block` times in turn (the first
 * run of each block, after the switch, is not counted), until at least `seconds` have passed and
 * each has at least 3 timings; the median of each, and of each round (for {@link pairedRatio}). On a
 * shared machine whose speed drifts over seconds (another tenant, clock changes), operations timed
 * one after the other can differ by a third for that reason alone; interleaved, each sees the same
 * drift, so their ratios hold.
 *
 * @example
 * ```ts
 * const t = await timeInterleaved({ model: () => model.predict(x), floor: () => floor.run() }, 8);
 * console.log(t.floor.medianMs / t.model.medianMs);
 * ```
 */
export async function timeInterleaved<K extends string>(
  fns: Record<K, () => Promise<unknown>>,
  seconds: number,
  block = 4,
): Promise<Record<K, InterleavedTiming>> {
  if (!Number.isInteger(block) || block < 2) throw new Error(`internal: timeInterleaved needs blocks of at least 2 runs, got ${block}`);
  const keys = Object.keys(fns) as K[];
  const times = new Map<K, number[]>(keys.map((k) => [k, []]));
  const rounds = new Map<K, number[]>(keys.map((k) => [k, []]));
  const start = performance.now();
  while (keys.some((k) => times.get(k)!.length < 3) || performance.now() - start < seconds * 1000) {
    for (const k of keys) {
      const round: number[] = [];
      for (let i = 0; i < block; i++) {
        const t = performance.now();
        await fns[k]();
        if (i > 0) round.push(performance.now() - t);
      }
      times.get(k)!.push(...round);
      rounds.get(k)!.push(median(round));
    }
  }
  const out = {} as Record<K, InterleavedTiming>;
  for (const k of keys) out[k] = { medianMs: median(times.get(k)!), runs: times.get(k)!.length, roundMs: rounds.get(k)! };
  return out;
}

/**
 * The ratio `a / b` of two interleaved timings taken round by round, each round's pair having seen
 * the same speed of the machine: the median over the rounds, and the lowest and highest.
 *
 * @example
 * ```ts
 * const t = await timeInterleaved({ model: () => model.predict(x), bound: () => bound.run() }, 60, 3);
 * const r = pairedRatio(t.bound, t.model); // r.median: the model's share of its bound
 * ```
 */
export function pairedRatio(a: InterleavedTiming, b: InterleavedTiming): { median: number; min: number; max: number; rounds: number } {
  const r = a.roundMs.map((x, i) => x / b.roundMs[i]);
  return { median: median(r), min: Math.min(...r), max: Math.max(...r), rounds: r.length };
}

/** The middle value (the upper of the two middle ones for an even count). */
function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}
