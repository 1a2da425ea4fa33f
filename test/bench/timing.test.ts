import { describe, expect, it } from 'vitest';
import { timeInterleaved, timeRepeated } from '../../src/bench/timing.js';

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

  it('refuses blocks that would leave nothing timed', async () => {
    await expect(timeInterleaved({ a: async () => undefined }, 0, 1)).rejects.toThrow(/at least 2 runs/);
  });
});
