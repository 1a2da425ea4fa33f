/**
 * Linear against quadratic, measured: one focused linear attention layer and one softmax attention
 * layer of the same width (FLatten-Swin-T stage 1: C = 96, 3 heads, with their q/k/v and output
 * projections) timed on square token grids from 14² to 224², until softmax's N×N attention
 * matrices would not fit in memory.
 */
import { Graph } from '../graph/graph.js';
import { declareLinear, linear, project } from '../graph/layers.js';
import { serializeModel } from '../graph/onnx.js';
import * as op from '../graph/ops.js';
import { focusedLinearAttention } from '../models/attention/focused_linear.js';
import { randomWeights } from '../models/init.js';
import { createSession } from '../runtime/session.js';
import { timeRepeated } from './timing.js';

/** One grid size's timings (null where the layer was not run). */
export interface ScalingRow {
  side: number;
  tokens: number;
  linear_ms: number;
  softmax_ms: number | null;
  /** Why softmax was not run, if it was not. */
  softmax_skipped?: string;
}

/** The scaling table and what it shows. */
export interface ScalingReport {
  dim: number;
  heads: number;
  threads: number;
  rows: ScalingRow[];
  /** Time ratio per doubling of tokens, for each layer (geometric mean over the measured range). */
  linear_growth_per_doubling: number;
  softmax_growth_per_doubling: number | null;
  /** The smallest measured token count at which linear attention is faster, or null. */
  crossover_tokens: number | null;
}

const DIM = 96;
const HEADS = 3;

function layer(kind: 'linear' | 'softmax', side: number): { graph: Graph } {
  const g = new Graph();
  const N = side * side;
  const d = DIM / HEADS;
  const x = g.input('x', [1, N, DIM]);
  const y = g.within('attn', 'attn', () => {
    const qkv = declareLinear(g, 'qkv', DIM, 3 * DIM);
    if (kind === 'linear') {
      const o = focusedLinearAttention(
        g,
        { x, linear: qkv, from: 0 },
        { x, linear: qkv, from: DIM },
        { x, linear: qkv, from: 2 * DIM },
        {
          dim: DIM,
          heads: HEADS,
          focusingFactor: 3,
          kernelSize: 5,
          grid: [side, side],
          keyTokens: N,
        },
      );
      return linear(g, o, 'proj', DIM, DIM);
    }
    const heads = op.split(g, project(g, x, qkv), 2, [DIM, DIM, DIM]).map(
      (t) => op.transpose(g, op.reshape(g, t, [-1, N, HEADS, d]), [0, 2, 1, 3]), // (B, h, N, d)
    );
    const [q, k, v] = heads;
    const s = op.mul(g, op.matmul(g, q, op.transpose(g, k, [0, 1, 3, 2])), g.constant('scale', [], [d ** -0.5])); // (B, h, N, N)
    const o = op.matmul(g, op.softmax(g, s, -1), v); // (B, h, N, d)
    return linear(g, op.reshape(g, op.transpose(g, o, [0, 2, 1, 3]), [-1, N, DIM]), 'proj', DIM, DIM); // (B, N, C)
  });
  g.output(y, 'y');
  return { graph: g };
}

async function timeLayer(kind: 'linear' | 'softmax', side: number, threads: number | undefined, seconds: number): Promise<number> {
  const { graph } = layer(kind, side);
  const w = randomWeights([...graph.params.values()], 1);
  const s = await createSession(
    serializeModel(graph, (n) => w.get(n)!),
    { threads },
  );
  const N = side * side;
  const x = { shape: [1, N, DIM], data: new Float32Array(N * DIM).map((_, i) => Math.sin(i * 0.1)) };
  const t = await timeRepeated(() => s.run({ x }), seconds, 1);
  await s.release();
  return t.medianMs;
}

const geomeanGrowth = (rows: { tokens: number; ms: number }[]): number => {
  const a = rows[0];
  const b = rows[rows.length - 1];
  return (b.ms / a.ms) ** (1 / Math.log2(b.tokens / a.tokens));
};

/**
 * Times both layers on 14², 28², 56², 112² and 224² tokens. Softmax is skipped (and says so) where its
 * attention matrices would need more than `memoryBudgetBytes`.
 *
 * @example
 * ```ts
 * const report = await attentionScaling({ threads: 2 });
 * console.log(report.crossover_tokens);
 * ```
 */
export async function attentionScaling(
  opts: { threads?: number; seconds?: number; memoryBudgetBytes?: number; sides?: number[]; onStep?: (s: string) => void } = {},
): Promise<ScalingReport> {
  const sides = opts.sides ?? [14, 28, 56, 112, 224];
  const seconds = opts.seconds ?? 1;
  const budget = opts.memoryBudgetBytes ?? 4 * 2 ** 30;
  const rows: ScalingRow[] = [];
  for (const side of sides) {
    const N = side * side;
    opts.onStep?.(`${N} tokens`);
    const linearMs = await timeLayer('linear', side, opts.threads, seconds);
    const need = 2 * HEADS * N * N * 4;
    const row: ScalingRow = { side, tokens: N, linear_ms: linearMs, softmax_ms: null };
    if (need > budget) row.softmax_skipped = `needs ${(need / 2 ** 30).toFixed(1)} GiB for its ${HEADS}×${N}×${N} attention matrices`;
    else row.softmax_ms = await timeLayer('softmax', side, opts.threads, seconds);
    rows.push(row);
  }
  const lin = rows.map((r) => ({ tokens: r.tokens, ms: r.linear_ms }));
  const soft = rows.filter((r) => r.softmax_ms !== null).map((r) => ({ tokens: r.tokens, ms: r.softmax_ms! }));
  const cross = rows.find((r) => r.softmax_ms !== null && r.linear_ms < r.softmax_ms);
  return {
    dim: DIM,
    heads: HEADS,
    threads: opts.threads ?? 0,
    rows,
    linear_growth_per_doubling: geomeanGrowth(lin),
    softmax_growth_per_doubling: soft.length >= 2 ? geomeanGrowth(soft) : null,
    crossover_tokens: cross ? cross.tokens : null,
  };
}
