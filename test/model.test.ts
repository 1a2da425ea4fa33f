import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { openCheckpoint } from '../src/checkpoint/open.js';
import { readNpy } from '../src/io/npy.js';
import { FlattenModel } from '../src/model.js';
import { fixture, maxDiff } from './helpers/fixtures.js';
import { OrderedDict, TensorSpec, TorchSaver, contiguousStride, toHalfBits } from './helpers/torch_save.js';

/** Re-saves a fixture's weights as float16 (and float32 copies of the float16-rounded values). */
function halfCheckpoints(name: string): { half: Uint8Array; rounded: Uint8Array } {
  const sd = openCheckpoint(fixture(name, 'checkpoint.pth'));
  const h = new TorchSaver();
  const r = new TorchSaver();
  const halfEntries: [string, TensorSpec][] = [];
  const roundedEntries: [string, TensorSpec][] = [];
  for (const [k, t] of sd.tensors) {
    const v = t.read();
    const back = Array.from(v, (x) => halfToFloat(toHalfBits(x)));
    halfEntries.push([k, new TensorSpec(h.storage('float16', v), [...t.shape], contiguousStride([...t.shape]))]);
    roundedEntries.push([k, new TensorSpec(r.storage('float32', back), [...t.shape], contiguousStride([...t.shape]))]);
  }
  sd.close();
  return {
    half: h.save(new Map([['model', new OrderedDict(halfEntries)]])),
    rounded: r.save(new Map([['model', new OrderedDict(roundedEntries)]])),
  };
}

function halfToFloat(bits: number): number {
  const e = (bits >> 10) & 0x1f;
  const m = bits & 0x3ff;
  const s = bits & 0x8000 ? -1 : 1;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

describe('FlattenModel', () => {
  it('loads checkpoints given as Buffer or ArrayBuffer', async () => {
    const bytes = readFileSync(fixture('pvt_mini', 'checkpoint.pth'));
    const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    const x = readNpy(fixture('pvt_mini', 'input.npy'));
    for (const ckpt of [bytes, ab]) {
      const m = await FlattenModel.load(fixture('pvt_mini', 'config.json'), ckpt, { threads: 1 });
      expect(m.paramCount).toBe(151618);
      const { logits } = await m.predict(x);
      expect(maxDiff(logits.data, readNpy(fixture('pvt_mini', 'logits.npy')).data).max).toBeLessThan(1e-5);
      await m.dispose();
    }
  });

  it('widens float16 checkpoints exactly', async () => {
    const { half, rounded } = halfCheckpoints('pvt_v2_mini');
    const x = readNpy(fixture('pvt_v2_mini', 'input.npy'));
    const a = await FlattenModel.load(fixture('pvt_v2_mini', 'config.json'), half, { threads: 1 });
    const b = await FlattenModel.load(fixture('pvt_v2_mini', 'config.json'), rounded, { threads: 1 });
    const la = (await a.predict(x)).logits;
    const lb = (await b.predict(x)).logits;
    const vsOfficial = maxDiff(la.data, readNpy(fixture('pvt_v2_mini', 'logits.npy')).data).max;
    console.log(`[conformance] float16 weights of pvt_v2_mini: logits max|diff| vs the float32 official ${vsOfficial.toExponential(2)}`);
    expect(Array.from(la.data)).toEqual(Array.from(lb.data));
    expect(vsOfficial).toBeLessThan(1e-2);
    await a.dispose();
    await b.dispose();
  });

  it('returns its weights under our names and rejects inputs of the wrong size', async () => {
    const m = await FlattenModel.load('flatten_pvt_v2_b0', fixture('pvt_v2_mini', 'checkpoint.pth'), { threads: 1 }).catch((e: Error) => e);
    expect(m).toBeInstanceOf(Error);
    const ok = await FlattenModel.load(fixture('swin_mini', 'config.json'), fixture('swin_mini', 'checkpoint.pth'), { threads: 1 });
    expect(ok.weights().get('stage3.block1.attn.relative_position_bias_table')!.shape).toEqual([169, 4]);
    await expect(ok.predict({ shape: [1, 3, 64, 64], data: new Float32Array(3 * 64 * 64) })).rejects.toThrow(/expected \(B, 3, 224, 224\)/);
    await ok.dispose();
  });
});

describe('concurrent and repeated use', () => {
  const inputs = () => {
    const base = readNpy(fixture('pvt_mini', 'input.npy'));
    return Array.from({ length: 32 }, (_, i) => ({ shape: base.shape, data: base.data.map((v, j) => v + Math.sin(i * 7 + j) * 0.1) }));
  };

  it('32 parallel predict calls on one model equal sequential calls bit for bit', async () => {
    const m = await FlattenModel.load(fixture('pvt_mini', 'config.json'), fixture('pvt_mini', 'checkpoint.pth'), { threads: 2 });
    const xs = inputs();
    const seq: Float32Array[] = [];
    for (const x of xs) seq.push((await m.predict(x)).logits.data);
    const par = await Promise.all(xs.map((x) => m.predict(x)));
    await m.dispose();
    par.forEach((p, i) => expect(Buffer.from(p.logits.data.buffer).equals(Buffer.from(seq[i].buffer))).toBe(true));
  });

  it('the same inputs give bit-identical outputs across loads with the same thread count', async () => {
    const x = readNpy(fixture('cswin_mini', 'input.npy'));
    const run = async () => {
      const m = await FlattenModel.load(fixture('cswin_mini', 'config.json'), fixture('cswin_mini', 'checkpoint.pth'), { threads: 2 });
      const y = (await m.predict(x)).logits.data;
      await m.dispose();
      return Buffer.from(y.buffer);
    };
    expect((await run()).equals(await run())).toBe(true);
  });

  it('dispose returns memory and leaves a clear error behind', async () => {
    const cycle = async () => {
      const m = await FlattenModel.load(fixture('swin_mini', 'config.json'), fixture('swin_mini', 'checkpoint.pth'), { threads: 1 });
      await m.predict({ shape: [2, 3, 224, 224], data: new Float32Array(2 * 3 * 224 * 224) });
      await m.dispose();
      return m;
    };
    for (let i = 0; i < 4; i++) await cycle();
    const before = process.memoryUsage().rss;
    let last: FlattenModel | null = null;
    for (let i = 0; i < 12; i++) last = await cycle();
    const growth = (process.memoryUsage().rss - before) / 2 ** 20;
    console.log(`[memory] 12 more load/predict/dispose cycles of swin_mini: resident memory grew ${growth.toFixed(1)} MB`);
    expect(growth).toBeLessThan(80);
    await expect(last!.predict({ shape: [1, 3, 224, 224], data: new Float32Array(3 * 224 * 224) })).rejects.toThrow(
      /was disposed; load it again/,
    );
    await last!.dispose();
  });
});
