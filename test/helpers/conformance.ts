/**
 * Test helper: runs one official fixture case through `FlattenModel` and checks logits, features and
 * every stage output against the official code's outputs, printing the largest differences seen.
 */
import { expect } from 'vitest';
import { readNpy } from '../../src/io/npy.js';
import { FlattenModel } from '../../src/model.js';
import { fixture, maxDiff } from './fixtures.js';

/** Tolerances of the conformance criteria. */
export const LOGITS_TOL = 1e-5;
export const STAGE_REL_TOL = 1e-5;

export async function checkCase(name: string, opts: { ema?: boolean } = {}): Promise<void> {
  const model = await FlattenModel.load(fixture(name, 'config.json'), fixture(name, 'checkpoint.pth'), {
    stages: true,
    threads: 1,
    ema: opts.ema,
  });
  try {
    const out = await model.predict(readNpy(fixture(name, 'input.npy')));
    const logits = maxDiff(out.logits.data, readNpy(fixture(name, 'logits.npy')).data);
    const features = maxDiff(out.features.data, readNpy(fixture(name, 'features.npy')).data);
    const stages = out.stages!.map((s, i) => {
      const ref = readNpy(fixture(name, `stage${i + 1}.npy`));
      expect(s.shape).toEqual(ref.shape);
      return maxDiff(s.data, ref.data);
    });
    const rel = stages.map((s) => s.max / s.scale);
    console.log(
      `[conformance] ${name}: logits max|diff| ${logits.max.toExponential(2)}, features ${features.max.toExponential(2)}, ` +
        `stages (relative) ${rel.map((r) => r.toExponential(2)).join(' ')}`,
    );
    expect(out.logits.shape).toEqual(readNpy(fixture(name, 'logits.npy')).shape);
    expect(logits.max).toBeLessThan(LOGITS_TOL);
    expect(features.max).toBeLessThan(LOGITS_TOL);
    for (const r of rel) expect(r).toBeLessThan(STAGE_REL_TOL);
  } finally {
    await model.dispose();
  }
}
