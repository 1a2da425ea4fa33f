/**
 * The MNIST example's short version (`npm run example:mnist -- --quick`): a FLatten-PVTv2 trained
 * from scratch for three epochs on a sixth of the digits through the whole `--data` pipeline must
 * learn them (the example itself fails below its promised accuracy).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/fixtures.js';

describe('examples/mnist.ts --quick', () => {
  it('learns the digits from scratch', async () => {
    const out = mkdtempSync(join(tmpdir(), 'flatten-mnist-'));
    // spawned asynchronously: minutes of a blocked event loop would stall vitest's worker
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'examples', 'mnist.ts'), '--quick', '--out', out], { cwd: REPO });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    const r = { status, stdout, stderr };
    console.log(r.stdout);
    expect(r.status, r.stderr).toBe(0);
    const best = Number(/best test accuracy ([\d.]+)%/.exec(r.stdout)?.[1]);
    console.log(`[mnist] quick run: best test accuracy ${best}%`);
    expect(best).toBeGreaterThan(0);
  }, 600_000);
});
