import { describe, expect, it } from 'vitest';
import { readNpy } from '../../src/io/npy.js';
import { FlattenModel } from '../../src/model.js';
import { resolveArchitectureSpec } from '../../src/models/config_file.js';
import { listBatches } from '../../src/train/batches.js';
import { batchFolderData } from '../../src/train/data.js';
import { validate } from '../../src/train/validate.js';
import { fixture } from '../helpers/fixtures.js';

describe('validation after an epoch', () => {
  it('reports acc@1, acc@5 and the cross-entropy the test computes itself', async () => {
    const cfg = fixture('pvt_v2_mini', 'config.json');
    const batches = listBatches(fixture('pvt_v2_mini', 'train/steps'));
    const arch = resolveArchitectureSpec(cfg);
    const data = batchFolderData([], batches);
    data.check([3, ...arch.family.inputSize(arch.args)], arch.args.num_classes as number, 1);
    const model = await FlattenModel.load(cfg, fixture('pvt_v2_mini', 'checkpoint.pth'), { threads: 1 });
    const v = await validate(async (x) => (await model.predict(x)).logits, data.validation()!);
    let n = 0;
    let c1 = 0;
    let c5 = 0;
    let loss = 0;
    for (const b of batches) {
      const { logits } = await model.predict(readNpy(b.x));
      const y = readNpy(b.y).data;
      const K = logits.shape[1];
      y.forEach((label, i) => {
        const row = Array.from(logits.data.subarray(i * K, (i + 1) * K));
        const order = row
          .map((s, k) => [s, k])
          .sort((a, c) => c[0] - a[0])
          .map((p) => p[1]);
        if (order[0] === label) c1++;
        if (order.slice(0, 5).includes(label)) c5++;
        const lse = Math.log(row.reduce((s, x) => s + Math.exp(x), 0));
        loss += lse - row[label];
        n++;
      });
    }
    await model.dispose();
    console.log(
      `[validate] pvt_v2_mini on its ${n} training images: acc@1 ${v.acc1.toFixed(2)} acc@5 ${v.acc5.toFixed(2)} loss ${v.loss.toFixed(4)}`,
    );
    expect(v.images).toBe(n);
    expect(v.acc1).toBeCloseTo((100 * c1) / n, 9);
    expect(v.acc5).toBeCloseTo((100 * c5) / n, 9);
    expect(v.loss).toBeCloseTo(loss / n, 5);
  });
});
