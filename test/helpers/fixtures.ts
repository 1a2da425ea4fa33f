/**
 * Test helper: finds the official reference fixtures (`../shared/fixtures` beside the checkout, or
 * FLATTEN_FIXTURES) and compares arrays the way the conformance criteria are stated.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const CANDIDATES = [
  process.env.FLATTEN_FIXTURES,
  join(repo, '..', 'shared', 'fixtures'),
  join(repo, 'shared', 'fixtures'),
  '/work/shared/fixtures',
];

/** The fixtures folder. Fails (never skips) when it cannot be found, so CI cannot pass without them. */
export function fixturesDir(): string {
  for (const c of CANDIDATES) if (c && existsSync(join(c, 'README.md'))) return c;
  throw new Error(`reference fixtures not found; looked in ${CANDIDATES.filter(Boolean).join(', ')} (set FLATTEN_FIXTURES)`);
}

/** Path of a file of one fixture case. */
export function fixture(caseName: string, file: string): string {
  return join(fixturesDir(), caseName, file);
}

/** The repository root. */
export const REPO = repo;

/** Largest absolute difference and the reference's largest magnitude. */
export function maxDiff(a: Float32Array, b: Float32Array): { max: number; scale: number } {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let max = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    max = Math.max(max, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return { max, scale };
}
