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
