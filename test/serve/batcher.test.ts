/**
 * The dynamic batcher with a stand-in runner: batches up to max-batch of whole requests, the wait for
 * a fuller batch, outputs split back per request, the bounded queue and cancelled requests.
 */
import { describe, expect, it } from 'vitest';
import { Batcher, type BatchRunner, QueueFull } from '../../src/serve/batcher.js';

/** A runner with `workers` slots whose batch outputs each image's first pixel as its logits and features. */
function fakeRunner(workers: number, ms = 5) {
  const batches: number[] = [];
  const runner: BatchRunner & { busy: number } = {
    busy: 0,
    get free() {
      return workers - this.busy;
    },
    async batch(_model, images, pixels) {
      this.busy++;
      batches.push(images);
      await new Promise((r) => setTimeout(r, ms));
      this.busy--;
      const per = pixels.length / images;
      const logits = Float32Array.from({ length: images * 2 }, (_, i) => pixels[Math.floor(i / 2) * per] + (i % 2));
      return { logits, features: logits.map((v) => -v), computeSeconds: ms / 1000 };
    },
  };
  return { runner, batches };
}

const image = (v: number, n = 1) => new Float32Array(3 * n).fill(v);

describe('Batcher', () => {
  it('merges what queues while a batch runs into batches of at most max-batch images and splits the outputs back', async () => {
    const { runner, batches } = fakeRunner(1);
    const b = new Batcher(runner, { maxBatch: 4, maxDelayMs: 50, maxQueue: 100 });
    b.addModel('m', 2, 2);
    const tickets = [1, 2, 3, 4, 5, 6, 7].map((v) => b.submit('m', 1, image(v)));
    const two = b.submit('m', 2, Float32Array.from([8, 8, 8, 9, 9, 9]));
    const out = await Promise.all(tickets.map((t) => t.result));
    out.forEach((o, i) => expect([...o.logits]).toEqual([i + 1, i + 2]));
    expect([...(await two.result).logits]).toEqual([8, 9, 9, 10]);
    // the first request finds every worker idle and runs at once; the rest queue behind it
    expect(batches[0]).toBe(1);
    expect(batches[1]).toBe(4);
    expect(Math.max(...batches)).toBeLessThanOrEqual(4);
    expect(batches.reduce((a, c) => a + c, 0)).toBe(9);
  });

  it('waits at most max-delay for a fuller batch while another batch runs, not at all with 0 or with every worker idle', async () => {
    for (const delay of [0, 30]) {
      const { runner, batches } = fakeRunner(2, 80);
      const b = new Batcher(runner, { maxBatch: 8, maxDelayMs: delay, maxQueue: 10 });
      b.addModel('m', 2, 2);
      const t0 = performance.now();
      const first = b.submit('m', 1, image(1)).result; // every worker idle: runs at once
      await new Promise((r) => setTimeout(r, 1));
      expect(batches).toEqual([1]);
      const second = b.submit('m', 1, image(2)).result; // a batch runs: waits for company up to the delay
      await new Promise((r) => setTimeout(r, delay === 0 ? 5 : delay / 2));
      expect(batches).toEqual(delay === 0 ? [1, 1] : [1]);
      await Promise.all([first, second]);
      expect(batches).toEqual([1, 1]);
      if (delay > 0) expect(performance.now() - t0).toBeGreaterThanOrEqual(delay + 80 - 5);
    }
  });

  it('refuses at once when a queue is full, and a cancelled request leaves the queue', async () => {
    const { runner, batches } = fakeRunner(1, 20);
    const b = new Batcher(runner, { maxBatch: 1, maxDelayMs: 0, maxQueue: 2 });
    b.addModel('m', 2, 2);
    const first = b.submit('m', 1, image(1)); // running
    const queued = [b.submit('m', 1, image(2)), b.submit('m', 1, image(3))];
    expect(() => b.submit('m', 1, image(4))).toThrow(QueueFull);
    queued[0].cancel();
    let settled = false;
    void queued[0].result.then(() => (settled = true));
    await first.result;
    await queued[1].result;
    await b.idle();
    expect(settled).toBe(false);
    expect(batches).toEqual([1, 1]);
  });

  it('counts admitted requests whose bodies are still arriving against the queue, until they are submitted', async () => {
    const { runner } = fakeRunner(1, 20);
    const b = new Batcher(runner, { maxBatch: 1, maxDelayMs: 0, maxQueue: 2 });
    b.addModel('m', 2, 2);
    const first = b.submit('m', 1, image(1)); // running
    const places = [b.admit('m'), b.admit('m')];
    expect(b.full('m')).toBe(true);
    expect(() => b.admit('m')).toThrow(QueueFull);
    places[0]();
    places[0](); // giving a place back twice frees it once
    expect(b.full('m')).toBe(false);
    const second = b.submit('m', 1, image(2));
    expect(() => b.admit('m')).toThrow(QueueFull);
    places[1]();
    const third = b.submit('m', 1, image(3));
    expect(b.full('m')).toBe(true);
    await Promise.all([first.result, second.result, third.result]);
    expect(b.full('m')).toBe(false);
    expect(b.admit('other')).toBeTypeOf('function'); // an unknown model is refused later, with its 404
  });

  it('fails every request of a batch whose run fails, and goes on', async () => {
    let fail = true;
    const runner: BatchRunner = {
      free: 1,
      batch: async (_m, images, pixels) => {
        if (fail) {
          fail = false;
          throw new Error('worker stopped');
        }
        return { logits: pixels.slice(0, images * 2), features: pixels.slice(0, images * 2), computeSeconds: 0 };
      },
    };
    const b = new Batcher(runner, { maxBatch: 2, maxDelayMs: 0, maxQueue: 4 });
    b.addModel('m', 2, 2);
    await expect(b.submit('m', 1, image(1)).result).rejects.toThrow('worker stopped');
    await expect(b.submit('m', 1, image(5)).result).resolves.toEqual({
      logits: Float32Array.from([5, 5]),
      features: Float32Array.from([5, 5]),
    });
  });
});
