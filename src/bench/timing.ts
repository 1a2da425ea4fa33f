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
  times.sort((a, b) => a - b);
  return { medianMs: times[times.length >> 1], runs: times.length };
}

/**
 * Times several operations side by side: rounds in which each runs `block` times in turn (the first
 * run of each block, after the switch, is not counted), until at least `seconds` have passed and
 * each has at least 3 timings; the median of each. On a shared machine whose speed drifts over
 * seconds (another tenant, clock changes), operations timed one after the other can differ by a
 * third for that reason alone; interleaved, each sees the same drift, so their ratios hold.
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
): Promise<Record<K, Timing>> {
  if (!Number.isInteger(block) || block < 2) throw new Error(`internal: timeInterleaved needs blocks of at least 2 runs, got ${block}`);
  const keys = Object.keys(fns) as K[];
  const times = new Map<K, number[]>(keys.map((k) => [k, []]));
  const start = performance.now();
  while (keys.some((k) => times.get(k)!.length < 3) || performance.now() - start < seconds * 1000) {
    for (const k of keys) {
      for (let i = 0; i < block; i++) {
        const t = performance.now();
        await fns[k]();
        if (i > 0) times.get(k)!.push(performance.now() - t);
      }
    }
  }
  const out = {} as Record<K, Timing>;
  for (const k of keys) {
    const sorted = times.get(k)!.sort((a, b) => a - b);
    out[k] = { medianMs: sorted[sorted.length >> 1], runs: sorted.length };
  }
  return out;
}
