/**
 * Whether onnxruntime-node's CPU provider here has the blocked-layout kernels graph/nchwc.ts lowers
 * depthwise convolutions onto, and computes with them what the plain conv computes. Asked once per
 * process: a small depthwise conv, lowered, is run and checked against the same conv computed here.
 */
import * as ort from 'onnxruntime-node';
import { Graph } from '../graph/graph.js';
import { lowerDepthwiseConvs } from '../graph/nchwc.js';
import { serializeModel } from '../graph/onnx.js';
import * as op from '../graph/ops.js';

let answer: Promise<boolean> | null = null;

/**
 * True when the lowered graphs of graph/nchwc.ts run on this machine's onnxruntime-node CPU provider
 * and agree with the plain ONNX conv; false where the provider lacks the kernels or disagrees.
 *
 * @example
 * ```ts
 * const tg = defineTrainingGraph(arch, { batch: 32, nchwc: await nchwcKernels() });
 * ```
 */
export function nchwcKernels(): Promise<boolean> {
  answer ??= check().catch(() => false);
  return answer;
}

async function check(): Promise<boolean> {
  // (N, C, H, W) = (2, 32, 5, 6), kernel 3 × 3, padding 1: two blocks of 16 channels, or four of 8
  const [N, C, H, W] = [2, 32, 5, 6];
  const g = new Graph('fp32', { batch: N, nchwc: true });
  const x = g.fixedInput('x', [N, C, H, W]);
  const w = g.fixedInput('w', [C, 1, 3, 3]);
  g.output(op.conv(g, x, w, null, { pad: 1, groups: C }), 'y');
  if (lowerDepthwiseConvs(g).size !== 1) return false;
  const xs = Float32Array.from({ length: N * C * H * W }, (_, i) => Math.sin(i * 0.7));
  const ws = Float32Array.from({ length: C * 9 }, (_, i) => Math.cos(i * 1.3));
  const s = await ort.InferenceSession.create(
    serializeModel(g, () => new Float32Array()),
    { logSeverityLevel: 3, intraOpNumThreads: 1 },
  );
  try {
    const out = await s.run({ x: new ort.Tensor('float32', xs, [N, C, H, W]), w: new ort.Tensor('float32', ws, [C, 1, 3, 3]) });
    const y = out.y.data as Float32Array;
    let worst = 0;
    for (let n = 0; n < N; n++)
      for (let c = 0; c < C; c++)
        for (let r = 0; r < H; r++)
          for (let q = 0; q < W; q++) {
            let sum = 0;
            for (let i = 0; i < 3; i++)
              for (let j = 0; j < 3; j++) {
                const [rr, qq] = [r + i - 1, q + j - 1];
                if (rr >= 0 && rr < H && qq >= 0 && qq < W) sum += ws[c * 9 + i * 3 + j] * xs[((n * C + c) * H + rr) * W + qq];
              }
            worst = Math.max(worst, Math.abs(sum - y[((n * C + c) * H + r) * W + q]));
          }
    return worst < 1e-4;
  } finally {
    await s.release();
  }
}
