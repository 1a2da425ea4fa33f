/**
 * The trainer's own guarantees, apart from the official-loop fixtures: a batch run in parts whose
 * gradients are summed (gradient accumulation, how WASM fits a batch) trains as the whole batch does,
 * stochastic depth and mixup included; and the forward graph it validates with gives the inference
 * model's logits for the weights it holds.
 */
import { describe, expect, it } from 'vitest';
import { FlattenModel } from '../../src/model.js';
import { resolveArchitectureSpec } from '../../src/models/config_file.js';
import { withArgs } from '../../src/models/registry.js';
import { defineModel } from '../../src/models/define.js';
import { nodeStepRuntime } from '../../src/runtime/session.js';
import { buildConfig } from '../../src/train/config.js';
import { smoothedTargets } from '../../src/train/criterion.js';
import { initialWeights } from '../../src/train/init.js';
import { freezePredicate } from '../../src/train/loop.js';
import { mixupBatch } from '../../src/train/mixup.js';
import { trainSettings } from '../../src/train/settings.js';
import { Trainer } from '../../src/train/trainer.js';
import { Random } from '../../src/util/random.js';
import { fixture } from '../helpers/fixtures.js';

const arch = withArgs(resolveArchitectureSpec(fixture('pvt_v2_mini', 'config.json')), { drop_path_rate: 0.2 });
const [C, H, W] = [3, ...arch.family.inputSize(arch.args)];
const K = arch.args.num_classes as number;
const B = 4;

function batch(seed: number) {
  const r = new Random(seed);
  const x = Float32Array.from({ length: B * C * H * W }, () => r.next() * 2 - 1);
  const labels = Float32Array.from({ length: B }, () => Math.floor(r.next() * K));
  return { x: { shape: [B, C, H, W], data: x }, labels };
}

async function run(part: number) {
  const config = buildConfig(
    [],
    ['DATA.BATCH_SIZE', String(B), 'TRAIN.BASE_LR', '0.5', 'TRAIN.WARMUP_EPOCHS', '0', 'TRAIN.CLIP_GRAD', '1.0'],
  );
  const settings = trainSettings(config, { emaDecay: 0.9 });
  const weights = initialWeights(defineModel(arch).params, arch.family, 3);
  const t = await Trainer.create(arch, { settings, stepsPerEpoch: 3, weights, runtime: nodeStepRuntime({ threads: 1 }), part, seed: 5 });
  try {
    const records = [];
    for (let i = 0; i < 3; i++) {
      const { x, labels } = batch(i);
      const targets = mixupBatch(x.data, x.shape, labels, { ...settings.mixing!, numClasses: K }, t.mixupRandom.uniform);
      records.push(await t.step(x, targets, i));
    }
    return { records, snap: await t.snapshot() };
  } finally {
    await t.release();
  }
}

describe('the trainer', () => {
  it('trains a batch run in parts (gradients summed) as the whole batch, stochastic depth and mixup included', async () => {
    const whole = await run(B);
    const parts = await run(1);
    const halves = await run(2);
    for (const other of [parts, halves]) {
      const loss = Math.max(...other.records.map((r, i) => Math.abs(r.loss / whole.records[i].loss - 1)));
      const norm = Math.max(...other.records.map((r, i) => Math.abs(r.gradNorm / whole.records[i].gradNorm - 1)));
      let worst = 0;
      for (const [k, w] of whole.snap.params) {
        const o = other.snap.params.get(k)!;
        let d = 0;
        let n = 0;
        for (let i = 0; i < w.length; i++) {
          d += (o[i] - w[i]) ** 2;
          n += w[i] ** 2;
        }
        worst = Math.max(worst, Math.sqrt(d / Math.max(n, 1e-30)));
      }
      console.log(
        `[trainer] parts of ${other === parts ? 1 : 2} against the whole batch of ${B}: loss ${loss.toExponential(2)}, grad norm ${norm.toExponential(2)}, weights ${worst.toExponential(2)} relative`,
      );
      expect(loss).toBeLessThan(1e-5);
      expect(norm).toBeLessThan(1e-5);
      // float32 sums in another order, amplified by AdamW at a rate of 0.5 where gradients are near
      // zero: 6e-6 with the plain kernels, 1.7e-5 with the blocked depthwise ones (graph/nchwc.ts);
      // the same batch on either kernels differs by 2.3e-5. A part summed wrongly moves the weights
      // by orders of magnitude more.
      expect(worst).toBeLessThan(5e-5);
      expect(other.records.map((r) => r.clipped)).toEqual(whole.records.map((r) => r.clipped));
    }
  });

  it('trains a linear probe on cached features as on the images, with the backbone frozen and no stochastic depth', async () => {
    const probeArch = withArgs(arch, { drop_path_rate: 0 });
    const config = buildConfig(
      [],
      ['DATA.BATCH_SIZE', String(B), 'TRAIN.BASE_LR', '1.0', 'TRAIN.WARMUP_EPOCHS', '0', 'AUG.MIXUP', '0', 'AUG.CUTMIX', '0'],
    );
    const settings = trainSettings(config, { emaDecay: null });
    const weights = initialWeights(defineModel(probeArch).params, probeArch.family, 4);
    const frozen = freezePredicate(probeArch, 'backbone')!;
    const model = await FlattenModel.fromWeights({ family: probeArch.family.name, args: { ...probeArch.args } }, weights, { threads: 1 });
    const run = async (fromFeatures: boolean) => {
      const t = await Trainer.create(probeArch, {
        settings,
        stepsPerEpoch: 3,
        weights,
        runtime: nodeStepRuntime({ threads: 1 }),
        frozen,
        fromFeatures,
      });
      try {
        const losses = [];
        for (let i = 0; i < 3; i++) {
          const { x, labels } = batch(20 + i);
          const input = fromFeatures ? (await model.predict(x)).features : x;
          losses.push((await t.step(input, smoothedTargets(labels, K, 0.1), i)).loss);
        }
        return { losses, snap: await t.snapshot(), inputShape: t.graph.inputShape };
      } finally {
        await t.release();
      }
    };
    const images = await run(false);
    const features = await run(true);
    await model.dispose();
    expect(features.inputShape).toEqual([64]);
    const loss = Math.max(...features.losses.map((l, i) => Math.abs(l / images.losses[i] - 1)));
    const head = features.snap.params.get('head.weight')!;
    const want = images.snap.params.get('head.weight')!;
    const diff = Math.max(...Array.from(head, (v, i) => Math.abs(v - want[i])));
    console.log(
      `[trainer] linear probe on cached features against on images: loss ${loss.toExponential(2)} relative, head.weight within ${diff.toExponential(2)}`,
    );
    expect(loss).toBeLessThan(1e-5);
    expect(diff).toBeLessThan(1e-5);
    // the checkpoint still holds the frozen backbone, unchanged
    expect(features.snap.params.get('patch_embed1.proj.weight')).toEqual(weights.get('patch_embed1.proj.weight'));
  });

  it('validates with the logits the inference model gives for the weights it holds, and their EMA', async () => {
    const config = buildConfig([], ['DATA.BATCH_SIZE', String(B)]);
    const settings = trainSettings(config, { emaDecay: 0.5 });
    const weights = initialWeights(defineModel(arch).params, arch.family, 1);
    const t = await Trainer.create(arch, { settings, stepsPerEpoch: 1, weights, runtime: nodeStepRuntime({ threads: 1 }) });
    try {
      const { x, labels } = batch(9);
      await t.step(
        x,
        Float32Array.from({ length: B * K }, (_, i) => (i % K === labels[Math.floor(i / K)] ? 1 : 0)),
        0,
      );
      const snap = await t.snapshot();
      const three = { shape: [3, C, H, W], data: x.data.subarray(0, 3 * C * H * W) };
      for (const [label, w, ema] of [
        ['weights', snap.params, false],
        ['EMA', snap.ema!, true],
      ] as const) {
        const model = await FlattenModel.fromWeights({ family: arch.family.name, args: { ...arch.args } }, w, { threads: 1 });
        const want = (await model.predict(three)).logits;
        await model.dispose();
        const got = await t.logits(three, ema);
        expect(got.shape).toEqual([3, K]);
        const diff = Math.max(...Array.from(got.data, (v, i) => Math.abs(v - want.data[i])));
        console.log(`[trainer] validation logits of the ${label} against the inference model: max |diff| ${diff.toExponential(2)}`);
        expect(diff).toBeLessThan(1e-4);
      }
    } finally {
      await t.release();
    }
  });
});
