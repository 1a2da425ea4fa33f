import { describe, expect, it } from 'vitest';
import { pairedRatio, timeInterleaved, timeRepeated } from '../../src/bench/timing.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('timeRepeated', () => {
  it('warms up, then times at least 3 runs', async () => {
    let calls = 0;
    const t = await timeRepeated(async () => void calls++, 0, 2);
    expect(t.runs).toBe(3);
    expect(calls).toBe(5);
  });
});

describe('timeInterleaved', () => {
  it('runs each operation in blocks in turn and drops the first run of each block', async () => {
    const order: string[] = [];
    const t = await timeInterleaved({ a: async () => void order.push('a'), b: async () => void order.push('b') }, 0, 4);
    expect(order.join('')).toBe('aaaabbbb');
    expect(t.a.runs).toBe(3);
    expect(t.b.runs).toBe(3);
  });

  it('reports the median of each, not slowed by the run after a switch', async () => {
    // the first run after a switch is slow (caches hold the other's data); with blocks of 2, half of
    // the runs are such, so the median shows whether they were dropped
    let last = '';
    const cheap = async () => {
      await sleep(last === 'cheap' ? 1 : 60);
      last = 'cheap';
    };
    const dear = async () => {
      await sleep(25);
      last = 'dear';
    };
    const t = await timeInterleaved({ cheap, dear }, 0.5, 2);
    expect(t.cheap.medianMs).toBeLessThan(20);
    expect(t.dear.medianMs).toBeGreaterThanOrEqual(20);
  });

  it("keeps each round's median, in round order", async () => {
    let round = 0;
    const t = await timeInterleaved(
      {
        a: async () => await sleep(5 + 20 * round),
        b: async () => {
          await sleep(5);
          round += 1 / 3; // three runs a block: the next round of a is 20 ms slower
        },
      },
      0,
      3,
    );
    expect(t.a.roundMs.length).toBe(2);
    expect(t.b.roundMs.length).toBe(2);
    expect(t.a.roundMs[1] - t.a.roundMs[0]).toBeGreaterThan(12);
  });

  it('pairs two timings round by round, so that a drift of the machine cancels', () => {
    // the machine runs at half speed in the second round; a takes 0.8 of b in two rounds, 0.88 in one
    const a = { medianMs: 0, runs: 6, roundMs: [8, 16, 8.8] };
    const b = { medianMs: 0, runs: 6, roundMs: [10, 20, 10] };
    const r = pairedRatio(a, b);
    expect(r.median).toBeCloseTo(0.8, 12);
    expect(r.min).toBeCloseTo(0.8, 12);
    expect(r.max).toBeCloseTo(0.88, 12);
    expect(r.rounds).toBe(3);
  });

  it('refuses blocks that would leave nothing timed', async () => {
    await expect(timeInterleaved({ a: async () => undefined }, 0, 1)).rejects.toThrow(/at least 2 runs/);
  });
});
