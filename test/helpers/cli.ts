/**
 * Test helper: runs the `flatten-vit` CLI from source in a child process, as a user would.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from './fixtures.js';

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** A cache folder of this test run, so that the CLI never writes into the user's cache. */
const CACHE = mkdtempSync(join(tmpdir(), 'flatten-cli-cache-'));

export function cli(args: string[], env: Record<string, string> = {}): CliResult {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'src', 'cli', 'bin.ts'), ...args], {
    cwd: REPO,
    encoding: 'utf8',
    env: { ...process.env, FLATTEN_VIT_CACHE: CACHE, ...env },
    timeout: 120_000,
  });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** The CLI failed the way every failure must: non-zero, one line, no stack trace. */
export function expectCleanFailure(r: CliResult): string {
  const lines = r.stderr.trim().split('\n');
  if (r.status === 0) throw new Error(`expected failure, got success: ${r.stderr}`);
  if (lines.length !== 1 || /^\s+at /m.test(r.stderr)) throw new Error(`expected one line on stderr, got:\n${r.stderr}`);
  return lines[0];
}
