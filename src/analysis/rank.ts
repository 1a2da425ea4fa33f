/**
 * Numerical rank of attention matrices with numpy's `matrix_rank` convention for float32: the number
 * of singular values above σ_max · max(rows, cols) · 1.19e-7. Low-rank matrices given as factors are
 * exact and fast; dense ones use a float64 Gram matrix computed by onnxruntime and an inertia count.
 */
import { Graph } from '../graph/graph.js';
import { serializeModel } from '../graph/onnx.js';
import * as op from '../graph/ops.js';
import { runFloat64 } from '../runtime/session.js';
import type { AttentionMatrix } from './attention.js';
import { countAbove, eigenvaluesAbove, largestEigenvalue, lowRankSingularValues, type Matrix, rankTolerance } from './linalg.js';

/** MᵀM in float64, computed by onnxruntime. */
export async function gram(m: Matrix, threads?: number): Promise<Float64Array> {
  const g = new Graph();
  const x = g.input('m', [m.rows, m.cols], 'float64');
  g.output(op.matmul(g, op.transpose(g, x, [1, 0]), x), 'g', 'float64');
  const { g: out } = await runFloat64(
    serializeModel(g, () => new Float32Array()),
    { m: { shape: [m.rows, m.cols], data: m.data } },
    threads,
  );
  return out.data;
}

/** The rank of one attention matrix, and how it was found. */
export interface RankResult {
  rank: number;
  sigmaMax: number;
  tolerance: number;
  method: 'low-rank factors' | 'Gram inertia';
}

/**
 * numpy's `matrix_rank` of an attention matrix.
 *
 * @example
 * ```ts
 * const { rank } = await numericalRank(att.kinds.focused!);
 * ```
 */
export async function numericalRank(a: AttentionMatrix, threads?: number): Promise<RankResult> {
  const { rows, cols } = a.matrix;
  if (a.factors) {
    const sv = lowRankSingularValues(a.factors.a, a.factors.b);
    const tolerance = rankTolerance(sv[0] ?? 0, rows, cols);
    return { rank: countAbove(sv, tolerance), sigmaMax: sv[0] ?? 0, tolerance, method: 'low-rank factors' };
  }
  const g = await gram(a.matrix, threads);
  const sigmaMax = Math.sqrt(largestEigenvalue(g, cols));
  const tolerance = rankTolerance(sigmaMax, rows, cols);
  return { rank: eigenvaluesAbove(g, cols, tolerance * tolerance), sigmaMax, tolerance, method: 'Gram inertia' };
}
