/**
 * The official training loop's fixtures (`../shared/fixtures/<case>/train/`): the run `main_ema.py`
 * made for two epochs over four fixed batches, reproduced through `train` — per-step loss,
 * learning rate and gradient norm, the first step's gradients, the weights after each epoch and the
 * EMA (compared as the update w − w₀), resuming from the official `epoch1.pth`, and resuming from our
 * own `ckpt_epoch_1.pth`. Each check prints the largest difference it saw.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openCheckpoint } from '../../src/checkpoint/open.js';
import { resolveArchitectureSpec } from '../../src/models/config_file.js';
import { listBatches } from '../../src/train/batches.js';
import { loadConfig } from '../../src/train/config_file.js';
import { type InitialWeights, train as runTraining, type TrainResult } from '../../src/train/run.js';
import { batchFolderData } from '../../src/train/data.js';
import { trainSettings } from '../../src/train/settings.js';
import { fixturesDir } from '../helpers/fixtures.js';

const CASES = ['swin_mini', 'pvt_mini_sr', 'pvt_v2_mini', 'cswin_mini'];
const tmp = mkdtempSync(join(tmpdir(), 'flatten-train-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Reference {
  losses: number[];
  lrs: number[];
  grad_norms: number[];
  clip_grad: number;
  model_ema_decay: number;
  steps_per_epoch: number;
  float64: { grads0_rel: number; update_rel: number; ema_rel: number };
}

/** Largest per-tensor ‖a − b‖ / ‖b‖ over the official names of `ref`, optionally as updates from `w0`. */
function worstRelative(
  mine: ReadonlyMap<string, Float32Array>,
  ref: string,
  names: ReadonlyMap<string, string>,
  w0?: ReadonlyMap<string, Float32Array>,
): { rel: number; name: string } {
  const sd = openCheckpoint(ref);
  let worst = { rel: 0, name: '' };
  try {
    for (const [ours, official] of names) {
      const r = sd.tensors.get(official);
      if (!r) continue;
      const b = r.read();
      const a = mine.get(ours)!;
      const base = w0?.get(ours);
      let d = 0;
      let n = 0;
      for (let i = 0; i < b.length; i++) {
        d += (a[i] - b[i]) ** 2;
        n += (base ? b[i] - base[i] : b[i]) ** 2;
      }
      const rel = n === 0 ? Math.sqrt(d) : Math.sqrt(d / n);
      if (rel > worst.rel) worst = { rel, name: official };
    }
  } finally {
    sd.close();
  }
  return worst;
}

describe.each(CASES)('official training loop: %s', (name) => {
  const dir = join(fixturesDir(), name);
  const train = join(dir, 'train');
  const ref = JSON.parse(readFileSync(join(train, 'reference.json'), 'utf8')) as Reference;
  const config = loadConfig(join(train, 'recipe.yaml'));
  const settings = trainSettings(config, { emaDecay: ref.model_ema_decay });
  const arch = resolveArchitectureSpec(join(dir, 'config.json'));
  const batches = listBatches(join(train, 'steps'));
  const run = (init: InitialWeights, out: string, saveGrads?: string): Promise<TrainResult> =>
    runTraining({ arch, config, settings, data: batchFolderData(batches), init, out, ...(saveGrads ? { saveGrads } : {}), threads: 2 });
  const updateTol = Math.max(1e-3, 30 * ref.float64.update_rel);
  let fresh: TrainResult;
  let w0: Map<string, Float32Array>;
  let names: Map<string, string>;

  it('reproduces every step: loss, learning rate, gradient norm, first gradients', async () => {
    const out = join(tmp, `${name}-fresh`);
    fresh = await run({ kind: 'checkpoint', file: join(dir, 'checkpoint.pth') }, out, join(tmp, `${name}-grads0.safetensors`));
    const sd = openCheckpoint(join(dir, 'checkpoint.pth'));
    const keys = new Set(sd.tensors.keys());
    sd.close();
    const ckpt = openCheckpoint(join(out, 'ckpt_epoch_1.pth'));
    names = new Map();
    for (const [k] of ckpt.tensors) if (keys.has(k) && !/relative_position_index|attn_mask/.test(k)) names.set(k, k);
    ckpt.close();
    const initial = openCheckpoint(join(dir, 'checkpoint.pth'));
    w0 = new Map([...names.keys()].map((k) => [k, initial.tensors.get(k)!.read()]));
    initial.close();
    const loss = Math.max(...fresh.records.map((r, i) => Math.abs(r.loss / ref.losses[i] - 1)));
    const lr = Math.max(...fresh.records.map((r, i) => Math.abs(r.lr / ref.lrs[i] - 1)));
    const norm = Math.max(...fresh.records.map((r, i) => Math.abs(r.gradNorm / ref.grad_norms[i] - 1)));
    const g = openCheckpoint(join(tmp, `${name}-grads0.safetensors`));
    const grads = new Map([...g.tensors].map(([k, t]) => [k, t.read()]));
    g.close();
    const g0 = worstRelative(grads, join(train, 'grads0.safetensors'), new Map([...grads.keys()].map((k) => [k, k])));
    console.log(
      `[train] ${name}: ${fresh.records.length} steps, loss ${loss.toExponential(2)}, lr ${lr.toExponential(2)}, grad norm ${norm.toExponential(2)} relative; first gradients ${g0.rel.toExponential(2)} (${g0.name}; float32 rounding alone ${ref.float64.grads0_rel.toExponential(2)})`,
    );
    expect(fresh.records).toHaveLength(ref.losses.length);
    expect(loss).toBeLessThan(1e-5);
    expect(lr).toBeLessThan(1e-6);
    expect(norm).toBeLessThan(1e-5);
    expect(g0.rel).toBeLessThan(1e-4);
    expect(grads.size).toBe(names.size - new Set((ref as unknown as { unused_parameters: string[] }).unused_parameters).size);
  }, 120_000);

  it('lands on the official weights after each epoch, and on the official EMA', () => {
    const out = join(tmp, `${name}-fresh`);
    const readMine = (file: string, ema = false) => {
      const sd = openCheckpoint(file, { ema });
      const m = new Map([...names.keys()].map((k) => [k, sd.tensors.get(k)!.read()]));
      sd.close();
      return m;
    };
    const e1 = worstRelative(readMine(join(out, 'ckpt_epoch_1.pth')), join(train, 'epoch1.safetensors'), names, w0);
    const fin = worstRelative(readMine(join(out, 'last.pth')), join(train, 'final.safetensors'), names, w0);
    const ema = worstRelative(readMine(join(out, 'last.pth'), true), join(train, 'final_ema.safetensors'), names, w0);
    console.log(
      `[train] ${name}: update after epoch 1 ${e1.rel.toExponential(2)}, after epoch 2 ${fin.rel.toExponential(2)}, EMA ${ema.rel.toExponential(2)} (tolerance ${updateTol.toExponential(2)}; float64 run ${ref.float64.update_rel.toExponential(2)})`,
    );
    for (const r of [e1, fin, ema]) expect(r.rel, r.name).toBeLessThan(updateTol);
  });

  it('resumes from the official epoch1.pth and from its own ckpt_epoch_1.pth', async () => {
    for (const [label, file] of [
      ['official epoch1.pth', join(train, 'epoch1.pth')],
      ['our ckpt_epoch_1.pth', join(tmp, `${name}-fresh`, 'ckpt_epoch_1.pth')],
    ] as const) {
      const res = await run({ kind: 'resume', file }, join(tmp, `${name}-resume-${label.split(' ')[0]}`));
      expect(res.records).toHaveLength(ref.steps_per_epoch);
      const loss = Math.max(...res.records.map((r, i) => Math.abs(r.loss / ref.losses[ref.steps_per_epoch + i] - 1)));
      const lr = Math.max(...res.records.map((r, i) => Math.abs(r.lr / ref.lrs[ref.steps_per_epoch + i] - 1)));
      const out = join(tmp, `${name}-resume-${label.split(' ')[0]}`, 'last.pth');
      expect(existsSync(out)).toBe(true);
      const sd = openCheckpoint(out);
      const mine = new Map([...names.keys()].map((k) => [k, sd.tensors.get(k)!.read()]));
      sd.close();
      const fin = worstRelative(mine, join(train, 'final.safetensors'), names, w0);
      console.log(
        `[train] ${name}: resumed from ${label}: loss ${loss.toExponential(2)}, lr ${lr.toExponential(2)}, final update ${fin.rel.toExponential(2)}`,
      );
      expect(loss).toBeLessThan(1e-5);
      expect(lr).toBeLessThan(1e-6);
      expect(fin.rel, fin.name).toBeLessThan(updateTol);
    }
  }, 120_000);
});
