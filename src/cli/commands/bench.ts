/**
 * `flatten-vit bench`: throughput against this machine's GEMM rate, or (`--attention`) how focused
 * linear attention and softmax attention scale with the number of tokens.
 */
import { attentionScaling } from '../../bench/attention.js';
import { benchTrainStep } from '../../bench/train_step.js';
import { resolveArchitectureSpec } from '../../models/config_file.js';
import { benchModel } from '../../bench/throughput.js';
import { profileModel } from '../../bench/profile.js';
import { agreement } from '../../bench/agreement.js';
import { fetchPretrained, isPretrainedName } from '../../hub/download.js';
import { PRETRAINED } from '../../hub/pretrained.js';
import { type Command, positiveInt, runtimeFrom, UsageError } from '../command.js';

export const benchCommand: Command = {
  name: 'bench',
  summary: 'measure throughput, latency, load time and memory; or linear vs softmax attention scaling',
  usage: `flatten-vit bench --arch <name | config.json> [--checkpoint <file | pretrained name>] [--batch 1,8]
    [--threads N] [--seconds S] [--precision fp32|int8] [--ep cpu|webgpu] [--profile] [--json]
flatten-vit bench --attention [--threads N] [--json]
flatten-vit bench --train --arch <name | config.json> [--batch 32] [--threads N] [--seconds S] [--json]

  Throughput is the median over repeated runs for at least S seconds (default 5) after warm-up, for
  each batch size; load_s is the time from checkpoint file to first result; the model's GFLOP/s
  (2 x MACs x images/s) is compared with this machine's dense float32 GEMM rate in onnxruntime with
  the same threads, and with the model's GEMM-only floor: its own matrix products and convolutions
  alone, at their real shapes and the largest batch (fp32), the rate it would reach if everything
  else took no time. Without --checkpoint the weights are random. --ep webgpu runs the model on
  onnxruntime's WebGPU provider and reports the adapter (the GEMM rate stays the CPU's). --profile
  adds the kernel time per op type at the largest batch (onnxruntime's profiler over 5 runs, on the
  graph after onnxruntime's fusions). --precision int8 runs the linear
  layers in int8 and reports its agreement with float32 on the fixture photographs.

  --train times one training step (forward, loss, backward, clipping, AdamW; config.py's defaults)
  at one batch size (default 32) with fresh weights: images/s, step time, peak memory, and GFLOP/s
  (a step counted as 3 x the forward MACs) against the GEMM rate.

  --attention times one focused linear attention layer and one softmax attention layer (C = 96,
  3 heads, Swin-T stage 1) on 14² to 224² tokens and reports their growth and the crossover.

Example:
  npx flatten-vit bench --arch flatten_swin_t --batch 1,8 --threads 2 --json`,
  options: {
    arch: { type: 'string' },
    checkpoint: { type: 'string' },
    batch: { type: 'string' },
    threads: { type: 'string' },
    seconds: { type: 'string' },
    precision: { type: 'string' },
    ep: { type: 'string' },
    profile: { type: 'boolean' },
    attention: { type: 'boolean' },
    train: { type: 'boolean' },
    json: { type: 'boolean' },
  },
  async run(v) {
    const json = v.json === true;
    const threads = positiveInt(v, 'threads', 'bench');
    const seconds = v.seconds === undefined ? undefined : Number(v.seconds);
    if (seconds !== undefined && !(seconds > 0))
      throw new UsageError(`bench: --seconds must be a positive number, found '${String(v.seconds)}'`);
    const say = (s: string) => {
      if (!json) process.stderr.write(`flatten-vit: ${s}\n`);
    };
    if (v.attention === true) {
      const r = await attentionScaling({ threads, seconds, onStep: (s) => say(`timing ${s}`) });
      if (json) process.stdout.write(`${JSON.stringify(r)}\n`);
      else {
        process.stdout.write(`tokens      focused linear   softmax\n`);
        for (const row of r.rows) {
          const soft = row.softmax_ms === null ? `(${row.softmax_skipped})` : `${row.softmax_ms.toFixed(2)} ms`;
          process.stdout.write(`${String(row.tokens).padStart(6)}  ${row.linear_ms.toFixed(2).padStart(11)} ms   ${soft}\n`);
        }
        process.stdout.write(
          `growth per doubling of tokens: linear ${r.linear_growth_per_doubling.toFixed(2)}x, softmax ${r.softmax_growth_per_doubling?.toFixed(2) ?? '-'}x; ` +
            `linear attention is faster from ${r.crossover_tokens ?? 'none of the measured sizes'} tokens\n`,
        );
      }
      return;
    }
    if (v.train === true) {
      if (typeof v.arch !== 'string') throw new UsageError('bench: --train needs --arch');
      const batch = v.batch === undefined ? 32 : Number(v.batch);
      if (!Number.isInteger(batch) || batch < 1)
        throw new UsageError(`bench: --train takes one positive --batch, found '${String(v.batch)}'`);
      const r = await benchTrainStep(resolveArchitectureSpec(v.arch), { batch, threads, seconds, onStep: (s) => say(s) });
      if (json) process.stdout.write(`${JSON.stringify(r)}\n`);
      else {
        process.stdout.write(
          `${r.arch}, batch ${r.batch}, ${r.threads} threads: ${r.images_per_s.toFixed(2)} images/s, ${r.step_ms.toFixed(0)} ms a step (median of ${r.steps}), ` +
            `${r.gflops.toFixed(0)} GFLOP/s = ${(100 * r.fraction_of_gemm).toFixed(0)}% of the ${r.gemm_gflops.toFixed(0)} GFLOP/s GEMM rate; peak RSS ${r.peak_rss_mb.toFixed(0)} MB (the graph's live tensors peak at ${r.live_tensors_peak_mb.toFixed(0)} MiB)\n` +
            `  its products alone (forward and backward, nothing else): ${r.products_images_per_s.toFixed(2)} images/s; the step reaches ${(100 * r.fraction_of_products).toFixed(0)}% of that\n` +
            `  the products with the work no training graph can drop (GELU, LayerNorm, softmax, residual sums and their backward): ${r.bound_images_per_s.toFixed(2)} images/s; the step reaches ${(100 * r.fraction_of_bound).toFixed(0)}%\n`,
        );
      }
      return;
    }
    const arch =
      typeof v.arch === 'string'
        ? v.arch
        : typeof v.checkpoint === 'string' && PRETRAINED[v.checkpoint]
          ? PRETRAINED[v.checkpoint].arch
          : '';
    if (!arch) throw new UsageError('bench: --arch is required (or --attention)');
    const batches = String(v.batch ?? '1,8')
      .split(',')
      .map(Number);
    if (!batches.every((b) => Number.isInteger(b) && b > 0))
      throw new UsageError(`bench: --batch must be a comma-separated list of positive integers, found '${String(v.batch)}'`);
    const precision = String(v.precision ?? 'fp32');
    if (precision !== 'fp32' && precision !== 'int8') throw new UsageError(`bench: --precision must be fp32 or int8, found '${precision}'`);
    let checkpoint = typeof v.checkpoint === 'string' ? v.checkpoint : undefined;
    if (checkpoint && isPretrainedName(checkpoint)) checkpoint = await fetchPretrained(checkpoint);
    const { executionProviders } = runtimeFrom(v, 'bench');
    const report = await benchModel(arch, { checkpoint, batches, seconds, threads, precision, executionProviders, onStep: (s) => say(s) });
    const agree = precision === 'int8' ? await agreement(arch, checkpoint, threads) : undefined;
    if (v.profile === true) say(`profiling batch ${Math.max(...batches)}`);
    const profile =
      v.profile === true ? await profileModel(arch, { checkpoint, batch: Math.max(...batches), threads, executionProviders }) : undefined;
    if (json) {
      process.stdout.write(`${JSON.stringify({ ...report, ...(agree ? { agreement: agree } : {}), ...(profile ? { profile } : {}) })}\n`);
      return;
    }
    const lines = [
      `${report.arch}, ${report.ep}${report.adapter ? ` (${report.adapter})` : ''}, ${report.threads} threads, ${report.precision}, ${checkpoint ? 'checkpoint weights' : 'random weights'}`,
      ...report.results.map(
        (r) =>
          `  batch ${String(r.batch).padStart(2)}: ${r.images_per_s.toFixed(1).padStart(7)} images/s  ${r.latency_ms.toFixed(1).padStart(7)} ms  ` +
          `${r.gflops.toFixed(0)} GFLOP/s = ${(100 * r.fraction_of_gemm).toFixed(0)}% of GEMM` +
          (r.fraction_of_floor === null ? '' : `, ${(100 * r.fraction_of_floor).toFixed(0)}% of its floor`),
      ),
      `  GEMM rate ${report.gemm_gflops.toFixed(0)} GFLOP/s` +
        (report.floor_gflops === null
          ? ''
          : `; GEMM-only floor ${report.floor_gflops.toFixed(0)} GFLOP/s (its products alone at batch ${report.floor_batch}, ${((100 * report.floor_gflops) / report.gemm_gflops).toFixed(0)}% of GEMM)`),
      `  ${(report.macs / 1e9).toFixed(2)} GMACs per image; load to first result ${report.load_s.toFixed(2)} s; peak RSS ${report.peak_rss_mb.toFixed(0)} MB`,
      ...(agree
        ? [
            `  int8 vs fp32 on ${agree.images} fixture photographs: top-1 agreement ${(100 * agree.top1_agreement).toFixed(0)}%, logits cosine ≥ ${agree.min_cosine.toFixed(5)}`,
          ]
        : []),
      ...(profile
        ? [
            `  profile at batch ${profile.batch} (${profile.total_ms.toFixed(1)} ms of kernels per run):`,
            ...profile.ops.map(
              (o) =>
                `    ${o.op.padEnd(28)} ${o.ms.toFixed(1).padStart(8)} ms ${(100 * o.share).toFixed(1).padStart(5)}%  ${String(o.nodes).padStart(4)} node${o.nodes === 1 ? '' : 's'}`,
            ),
          ]
        : []),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  },
};
