/**
 * `npm run fuzz`: every reader through at least 10,000 mutated inputs (FUZZ_CASES to change), with
 * the counts printed. Crashing inputs are written to fuzz-crashes/ for replay. Exit status 1 on any
 * crash or case over one second.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fuzz, summary } from './harness.js';
import { TARGETS } from './targets.js';

const cases = Number(process.env.FUZZ_CASES ?? 10_000);
const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
console.log(`fuzzing ${TARGETS.length} readers, ${cases} cases each, seed ${seed}`);
let bad = 0;
let peak = 0;
for (const t of TARGETS) {
  const r = fuzz(t, cases, seed);
  peak = Math.max(peak, process.memoryUsage().rss);
  console.log(summary(r));
  r.crashes.forEach((c, i) => {
    mkdirSync('fuzz-crashes', { recursive: true });
    writeFileSync(`fuzz-crashes/${t.name.replace(/\W/g, '_')}-${i}.bin`, c.input);
    console.log(`  crash ${i}: ${c.message}`);
  });
  bad += r.crashes.length + r.slow;
}
console.log(`peak resident memory ${(peak / 2 ** 20).toFixed(0)} MB; ${bad === 0 ? 'no crashes, hangs or slow cases' : `${bad} failures`}`);
process.exitCode = bad === 0 ? 0 : 1;
