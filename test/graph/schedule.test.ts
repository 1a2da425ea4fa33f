/**
 * The scheduling passes of schedule.ts, each checked in the order onnxruntime runs the graph (read
 * back from its optimized model) and for values that stay the same, bit for bit: the parameter
 * gradients computed where the backward pass reaches them, GELU's output recomputed instead of kept,
 * ReLU's mask computed in the forward pass.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { differentiate } from '../../src/graph/autodiff.js';
import { Graph, type GraphNode, type Value } from '../../src/graph/graph.js';
import { serializeModel } from '../../src/graph/onnx.js';
import * as op from '../../src/graph/ops.js';
import { computeMasksInForward, pinParameterGradients, recomputeGeluOutputs } from '../../src/graph/schedule.js';
import { MS_DOMAIN } from '../../src/graph/onnx.js';
import { createSession } from '../../src/runtime/session.js';
import { normalRandom } from '../helpers/gradcheck.js';
import { storedNodes } from '../helpers/onnx_nodes.js';

const B = 4;
const D = 16;
const LAYERS = 4;
const dir = mkdtempSync(join(tmpdir(), 'schedule-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** h ← relu(h·W_l) for four layers, loss Σ h·t, and the gradients of the W_l in one buffer. */
function build() {
  const g = new Graph('fp32', { batch: B });
  let h = g.fixedInput('x', [B, D]);
  const weights = Array.from({ length: LAYERS }, (_, l) => g.param(`w${l}`, [D, D]));
  for (const w of weights) h = op.relu(g, op.matmul(g, h, w));
  const loss = op.reduceSum(g, op.mul(g, h, g.fixedInput('t', [B, D])), [0, 1], false);
  const origins = new Map<GraphNode, GraphNode>();
  const grads = differentiate(g, loss, weights, origins);
  g.output(loss, 'loss');
  // read at the end only, as a training graph's flat gradient buffer and update read them; the first
  // layer's listed last, so that onnxruntime's walk (last listed first) reaches it first
  g.output(
    op.concat(
      g,
      [...weights].reverse().map((w) => op.reshape(g, grads.get(w)!, [D * D])),
      0,
    ),
    'grads',
  );
  // the input gradient of each layer but the first: the backward product that reads its weight (transposed)
  const backward = [...origins.keys()];
  const reading = (v: Value) => backward.find((n) => n.inputs.includes(v));
  const inputGrads = weights.map((w) => {
    const r = reading(w);
    return r?.op === 'Transpose' ? reading(r.outputs[0])?.outputs[0] : r?.outputs[0];
  });
  return { g, weights, grads, origins, inputGrads };
}

function feeds(): Record<string, { shape: number[]; data: Float32Array }> {
  const rnd = normalRandom(7);
  const fill = (shape: number[]) => ({ shape, data: Float32Array.from({ length: shape[0] * shape[1] }, rnd) });
  const f: Record<string, { shape: number[]; data: Float32Array }> = { x: fill([B, D]), t: fill([B, D]) };
  for (let l = 0; l < LAYERS; l++) f[`w${l}`] = fill([D, D]);
  return f;
}

/** Runs `g` on the same inputs; returns its outputs and the node order onnxruntime runs. */
async function run(g: Graph, tag: string) {
  const path = join(dir, `${tag}.onnx`);
  const s = await createSession(
    serializeModel(g, () => new Float32Array()),
    { threads: 1, optimizedModelPath: path },
  );
  try {
    const out = await s.run(feeds());
    return {
      out: Object.fromEntries(Object.entries(out).map(([k, t]) => [k, Array.from(t.data)])),
      order: storedNodes(readFileSync(path)),
    };
  } finally {
    await s.release();
  }
}

/** Position in `order` of the node that computes `v`. */
function at(order: readonly { outputs: readonly string[] }[], v: Value): number {
  const i = order.findIndex((n) => n.outputs.includes(v));
  if (i < 0) throw new Error(`no node computes ${v}`);
  return i;
}

describe('pinParameterGradients', () => {
  it('makes onnxruntime compute each weight gradient before the next layer’s input gradient, and changes no value', async () => {
    const plain = build();
    const before = await run(plain.g, 'plain');
    const pinned = build();
    const replaced = pinParameterGradients(pinned.g, pinned.grads, new Set(pinned.weights), new Set(pinned.origins.keys()));
    expect(replaced.size).toBeGreaterThan(0);
    const after = await run(pinned.g, 'pinned');
    expect(after.out).toEqual(before.out);
    for (let l = 2; l < LAYERS; l++) {
      const grad = at(after.order, pinned.grads.get(pinned.weights[l])!);
      expect(grad, `W${l}'s gradient before layer ${l - 1}'s input gradient`).toBeLessThan(at(after.order, pinned.inputGrads[l - 1]!));
    }
    // what the pins change: left alone, onnxruntime's walk leaves the weight gradients to the end
    const late = [2, 3].filter((l) => at(before.order, plain.grads.get(plain.weights[l])!) > at(before.order, plain.inputGrads[1]!));
    expect(late.length).toBeGreaterThan(0);
  });

  it('derives a zero from any float, NaN and ±∞ included', async () => {
    const g = new Graph('fp32', { batch: 1 });
    const x = g.fixedInput('x', [1, 6]);
    const w = g.fixedInput('w', [1, 6]);
    const grads = new Map<Value, Value | null>([['w', op.neg(g, x)]]); // the "gradient" −x, its first element −first
    const reader = g.node('Mul', [w, x], {}, [[1, 6]])[0];
    g.output(reader, 'y');
    const backward = new Set(g.nodes.filter((n) => n.outputs.includes(reader)));
    expect(pinParameterGradients(g, grads, new Set(['w']), backward).size).toBe(1);
    const weights = Float32Array.of(-0, 0, 1.5, -2, 3e38, -1e-45);
    for (const first of [NaN, Infinity, -Infinity, -3.4e38, -0, 7]) {
      const s = await createSession(
        serializeModel(g, () => new Float32Array()),
        { threads: 1 },
      );
      try {
        const y = (await s.run({ x: { shape: [1, 6], data: Float32Array.of(first, 1, 1, 1, 1, 1) }, w: { shape: [1, 6], data: weights } }))
          .y.data;
        const expected = weights.map((v, i) => v * (i === 0 ? first : 1));
        expect(Array.from(y).map((v) => (Object.is(v, -0) ? '-0' : v))).toEqual(
          Array.from(expected).map((v) => (Object.is(v, -0) ? '-0' : v)),
        );
      } finally {
        await s.release();
      }
    }
  });
});

/** m = x·W0, h = act(m), y = h·W1, loss Σ y²·t; the gradients of W0 and W1 are outputs. */
function buildActivation(act: 'gelu' | 'relu') {
  const g = new Graph('fp32', { batch: B });
  const x = g.fixedInput('x', [B, D]);
  const [w0, w1] = [g.param('w0', [D, D]), g.param('w1', [D, D])];
  const m = op.matmul(g, x, w0);
  const h = act === 'gelu' ? g.node('Gelu', [m], {}, [[B, D]], undefined, MS_DOMAIN)[0] : op.relu(g, m);
  const y = op.matmul(g, h, w1);
  const loss = op.reduceSum(g, op.mul(g, op.mul(g, y, y), g.fixedInput('t', [B, D])), [0, 1], false);
  const origins = new Map<GraphNode, GraphNode>();
  const grads = differentiate(g, loss, [w0, w1], origins);
  g.output(loss, 'loss');
  g.output(
    op.concat(
      g,
      [w1, w0].map((w) => op.reshape(g, grads.get(w)!, [D * D])),
      0,
    ),
    'grads',
  );
  return { g, m, h, y, backward: new Set(origins.keys()) };
}

/** Position in `order` of the last node that reads `v`. */
function lastReader(order: readonly { inputs: readonly string[] }[], v: Value): number {
  let last = -1;
  order.forEach((n, i) => {
    if (n.inputs.includes(v)) last = i;
  });
  return last;
}

describe('recomputeGeluOutputs', () => {
  it('frees GELU’s output after the forward product: the weight gradient reads it computed again', async () => {
    const before = await run(buildActivation('gelu').g, 'gelu-plain');
    const { g, h, y, backward } = buildActivation('gelu');
    expect(recomputeGeluOutputs(g, backward).size).toBe(2); // the weight gradient, the forward GELU
    // the forward GELU computes in a shape no other value has, the recomputation in the usual one
    expect(g.nodes.filter((n) => n.op === 'Gelu').map((n) => g.shape(n.outputs[0]))).toEqual([
      [1, B, D],
      [B, D],
    ]);
    const lifted = g.nodes.filter((n) => n.op !== 'Reshape' && n.outputs.some((o) => g.shape(o).join() === [1, B, D].join()));
    expect(lifted.map((n) => n.op)).toEqual(['Gelu']); // (reshapes share their input's buffer)
    const after = await run(g, 'gelu-recomputed');
    expect(after.out).toEqual(before.out);
    expect(lastReader(after.order, h)).toBe(at(after.order, y));
    expect(lastReader(before.order, h)).toBeGreaterThan(at(before.order, y));
  });
});

describe('computeMasksInForward', () => {
  it('frees ReLU’s input in the forward pass: the backward pass keeps the mask', async () => {
    const before = await run(buildActivation('relu').g, 'relu-plain');
    const { g, m, y, backward } = buildActivation('relu');
    expect(computeMasksInForward(g, backward, new Set(['w0', 'w1'])).size).toBe(1);
    const after = await run(g, 'relu-masked');
    expect(after.out).toEqual(before.out);
    // the forward product waits for the mask, whatever order a runtime picks
    const producer = new Map(g.nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
    const ancestors = new Set<GraphNode>();
    const visit = (v: Value) => {
      const n = producer.get(v);
      if (!n || ancestors.has(n)) return;
      ancestors.add(n);
      n.inputs.forEach(visit);
    };
    visit(y);
    expect([...ancestors].some((n) => n.op === 'Greater')).toBe(true);
    expect(lastReader(after.order, m)).toBeLessThan(at(after.order, y));
  });
});
