/**
 * The MNIST example's short version (`npm run example:mnist -- --quick`): a FLatten-PVTv2 trained
 * from scratch for two epochs on a third of the digits through the whole `--data` pipeline must
 * learn them (the example itself fails below its promised accuracy).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/fixtures.js';

describe('examples/mnist.ts --quick', () => {
  it('learns the digits from scratch', () => {
    const out = mkdtempSync(join(tmpdir(), 'flatten-mnist-'));
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'examples', 'mnist.ts'), '--quick', '--out', out], {
      cwd: REPO,
      encoding: 'utf8',
      timeout: 600_000,
    });
    console.log(r.stdout);
    expect(r.status, r.stderr).toBe(0);
    const best = Number(/best test accuracy ([\d.]+)%/.exec(r.stdout)?.[1]);
    console.log(`[mnist] quick run: best test accuracy ${best}%`);
    expect(best).toBeGreaterThan(0);
  }, 600_000);
});
