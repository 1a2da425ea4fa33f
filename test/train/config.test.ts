import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { trainingArchitecture } from '../../src/train/architecture.js';
import { get } from '../../src/train/config.js';
import { loadConfig } from '../../src/train/config_file.js';
import { initialRates, learningRates } from '../../src/train/schedule.js';
import { trainSettings } from '../../src/train/settings.js';

const dir = mkdtempSync(join(tmpdir(), 'flatten-config-'));

describe('official training config', () => {
  it('reads the official YAML spellings, BASE includes and --opts over config.py defaults', () => {
    writeFileSync(join(dir, 'base.yaml'), 'DATA:\n  BATCH_SIZE: 64\nTRAIN:\n  WARMUP_EPOCHS: 5\n');
    writeFileSync(
      join(dir, 'run.yaml'),
      "BASE: ['base.yaml']\nMODEL:\n  TYPE: flatten_pvt_v2_b0\n  DROP_PATH_RATE: 0.1\nTRAIN:\n  BASE_LR: 5e-4\n  CLIP_GRAD: None\n",
    );
    const cfg = loadConfig(join(dir, 'run.yaml'), ['TRAIN.EPOCHS', '30']);
    expect(get(cfg, 'DATA.BATCH_SIZE')).toBe(64);
    expect(get(cfg, 'TRAIN.BASE_LR')).toBe(5e-4);
    expect(get(cfg, 'TRAIN.CLIP_GRAD')).toBeNull();
    expect(get(cfg, 'TRAIN.EPOCHS')).toBe(30);
    expect(get(cfg, 'TRAIN.MIN_LR')).toBe(5e-6);
    const s = trainSettings(cfg, { emaDecay: null });
    expect(s.clipGrad).toBeNull();
    const sched = s.schedule(10, 2);
    expect(sched.baseLrs).toEqual([5e-4 / 8, 5e-4 / 8]);
    expect(sched.warmupT).toBe(50);
    expect(sched.tInitial).toBe(300);
    expect(trainingArchitecture(cfg, undefined).name).toBe('flatten_pvt_v2_b0');
    expect(trainingArchitecture(cfg, undefined).args.drop_path_rate).toBe(0.1);
  });

  it('follows the scheduler timing: steps 0 and 1 use the warm-up rate, MIN_LR after EPOCHS', () => {
    const s = { name: 'cosine' as const, baseLrs: [1e-3], warmupLr: 1e-4, minLr: 1e-5, tInitial: 8, warmupT: 2, decayT: 1, decayRate: 0.1 };
    const used = [initialRates(s)[0], ...[0, 1, 2, 3, 4, 5, 6, 7, 8].map((t) => learningRates(s, t)[0])];
    expect(used[0]).toBe(1e-4);
    expect(used[1]).toBe(1e-4);
    expect(used[2]).toBeCloseTo(5.5e-4, 12);
    expect(used[3]).toBeCloseTo(1e-5 + 0.5 * (1e-3 - 1e-5) * (1 + Math.cos(Math.PI / 4)), 12);
    expect(used[9]).toBe(1e-5);
  });

  it('names an unknown key, and a key of the wrong type', () => {
    expect(() => loadConfig(null, ['MODEL.LA.FOCUSING', '3'])).toThrow(/unknown config key MODEL\.LA\.FOCUSING/);
    expect(() => loadConfig(null, ['DATA.BATCH_SIZE', '[1]'])).toThrow(/DATA\.BATCH_SIZE must be a number/);
    expect(() => loadConfig(null, ['DATA.BATCH_SIZE'])).toThrow(/KEY VALUE pairs/);
  });
});
