/**
 * Side by side with the PyTorch export: the official models exported by torch.onnx
 * (`export_official.py`) against flatten-vit's graphs with the same weights, in the same
 * onnxruntime-node, on the same threads, in one process. Prints throughput at batch 1 and 8 (median
 * of runs for SECONDS_PER seconds, default 5, each side measured twice, interleaved), the ratios and
 * their geometric mean, and how far flatten-vit's logits are from the official PyTorch model's.
 * `bound` is the ratio flatten-vit could reach at most with onnxruntime's kernels: the export's
 * throughput against flatten-vit's products plus the work no graph can drop (`necessaryWork`: GELU,
 * LayerNorm, residual sums, softmax) timed alone in the same process.
 *
 *     npx tsx scripts/torch-onnx/compare.ts /tmp/sbs [names...]
 */
import { readFileSync } from 'node:fs';
import { floorRate, necessaryWork } from '../../src/bench/floor.js';
import { benchInput } from '../../src/bench/throughput.js';
import { FlattenModel } from '../../src/model.js';
import { createSession } from '../../src/runtime/session.js';
import type { Tensor } from '../../src/tensor.js';

const [dir, ...names] = process.argv.slice(2);
if (!dir) throw new Error('usage: compare.ts <folder written by export_official.py> [names...]');
const threads = 2;
const seconds = Number(process.env.SECONDS_PER ?? 5);
const archs = names.length ? names : ['flatten_pvt_v2_b0', 'flatten_pvt_t', 'flatten_swin_t', 'flatten_cswin_t'];

async function rate(run: () => Promise<unknown>, batch: number): Promise<number> {
  for (let i = 0; i < 2; i++) await run();
  const times: number[] = [];
  const start = performance.now();
  while (performance.now() - start < seconds * 1000 || times.length < 5) {
    const t = performance.now();
    await run();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return (batch * 1000) / times[times.length >> 1];
}

const rows: string[] = [];
const ratios: number[] = [];
const bounds: number[] = [];
for (const arch of archs) {
  const ours = await FlattenModel.load(arch, `${dir}/${arch}.pth`, { threads });
  const x2 = benchInput(2, [3, 224, 224]);
  const raw = readFileSync(`${dir}/${arch}.logits.bin`);
  const ref = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length));
  const got = (await ours.predict(x2)).logits.data;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    diff = Math.max(diff, Math.abs(ref[i] - got[i]));
    scale = Math.max(scale, Math.abs(ref[i]));
  }
  console.log(`${arch}: max |ours - official PyTorch| logits = ${diff.toExponential(2)} (logits up to ${scale.toFixed(2)})`);
  for (const batch of [1, 8]) {
    const torch = await createSession(readFileSync(`${dir}/${arch}.b${batch}.onnx`), { threads });
    const x: Tensor = benchInput(batch, [3, 224, 224]);
    const t = (await torch.run({ input: x })).logits.data;
    const o = (await ours.predict(x)).logits.data;
    let d = 0;
    for (let i = 0; i < t.length; i++) d = Math.max(d, Math.abs(t[i] - o[i]));
    const runTorch = () => torch.run({ input: x });
    const runOurs = () => ours.predict(x);
    const a1 = await rate(runTorch, batch);
    const b1 = await rate(runOurs, batch);
    const b2 = await rate(runOurs, batch);
    const a2 = await rate(runTorch, batch);
    const necessary = await floorRate(ours.definition, (name) => ours.weight(name), {
      batch,
      threads,
      seconds,
      keep: necessaryWork(ours.definition.graph),
    });
    const ta = (a1 + a2) / 2;
    const tb = (b1 + b2) / 2;
    const bound = (batch * 1000) / necessary.ms / ta;
    ratios.push(tb / ta);
    bounds.push(bound);
    rows.push(
      `${arch.padEnd(18)} b${batch}  torch.onnx ${ta.toFixed(1).padStart(6)} (${a1.toFixed(1)}, ${a2.toFixed(1)})  flatten-vit ${tb.toFixed(1).padStart(6)} (${b1.toFixed(1)}, ${b2.toFixed(1)})  ratio ${(tb / ta).toFixed(2)}  bound ${bound.toFixed(2)}  max|diff| ${d.toExponential(1)}`,
    );
    console.log(rows[rows.length - 1]);
    await torch.release();
  }
  await ours.dispose();
}
console.log(rows.join('\n'));
const geomean = (xs: number[]) => Math.exp(xs.reduce((s, r) => s + Math.log(r), 0) / xs.length);
console.log(`geometric mean ratio ${geomean(ratios).toFixed(2)}, bound ${geomean(bounds).toFixed(2)}`);
