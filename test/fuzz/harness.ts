/**
 * Runs fuzz targets: each case must end in a result or a FlattenError within a second. Crashing
 * inputs are kept so that they can be replayed.
 */
import fc from 'fast-check';
import { FlattenError } from '../../src/util/errors.js';
import { mutatedInputs } from './mutate.js';
import type { FuzzTarget } from './targets.js';

/** What one target's run saw. */
export interface FuzzReport {
  target: string;
  cases: number;
  results: number;
  typedErrors: number;
  crashes: { message: string; input: Uint8Array }[];
  slowestMs: number;
  slow: number;
}

/** Runs `cases` mutated inputs through one target. */
export function fuzz(t: FuzzTarget, cases: number, seed: number): FuzzReport {
  const r: FuzzReport = { target: t.name, cases: 0, results: 0, typedErrors: 0, crashes: [], slowestMs: 0, slow: 0 };
  fc.assert(
    fc.property(t.generate ? fc.oneof(mutatedInputs(t.seeds), t.generate) : mutatedInputs(t.seeds), (input) => {
      r.cases++;
      const start = performance.now();
      try {
        t.run(input);
        r.results++;
      } catch (e) {
        if (e instanceof FlattenError) r.typedErrors++;
        else if (r.crashes.length < 20) r.crashes.push({ message: `${(e as Error).name}: ${(e as Error).message}`, input });
        else r.crashes.push({ message: 'more crashes', input: new Uint8Array(0) });
      }
      const ms = performance.now() - start;
      r.slowestMs = Math.max(r.slowestMs, ms);
      if (ms > 1000) r.slow++;
      return true;
    }),
    { numRuns: cases, seed },
  );
  return r;
}

/** One line per target. */
export function summary(r: FuzzReport): string {
  return (
    `${r.target.padEnd(18)} ${String(r.cases).padStart(6)} cases: ${String(r.results).padStart(6)} results, ${String(r.typedErrors).padStart(6)} typed errors, ` +
    `${r.crashes.length} crashes, ${r.slow} over 1 s (slowest ${r.slowestMs.toFixed(1)} ms)`
  );
}
