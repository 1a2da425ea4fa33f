import { describe, expect, it } from 'vitest';
import { fuzz, summary } from './harness.js';
import { TARGETS } from './targets.js';

/** The CI subset of `npm run fuzz`: a few hundred mutated inputs per reader, with a fixed seed. */
const CASES = Number(process.env.FUZZ_CI_CASES ?? 300);

describe('every reader ends each mutated input in a result or a FlattenError within a second', () => {
  it.each(TARGETS.map((t) => [t.name, t] as const))('%s', (_, t) => {
    const r = fuzz(t, CASES, 20261126);
    console.log(`[fuzz] ${summary(r)}`);
    expect(r.crashes.map((c) => c.message)).toEqual([]);
    expect(r.slow).toBe(0);
    expect(r.cases).toBe(CASES);
  });
});
