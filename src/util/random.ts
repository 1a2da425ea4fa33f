/**
 * A small seeded generator (mulberry32) whose state is one 32-bit integer: random weights use it, and
 * the training loop saves its state in checkpoints so that a resumed run draws exactly what the
 * uninterrupted run would have drawn. Beside it, the draws Python's `random` module offers, built on
 * any uniform source, and Python's rounding.
 */

/** A seeded uniform generator on [0, 1) with a saveable state. */
export class Random {
  constructor(public state: number) {
    this.state = state >>> 0;
  }

  /** The next number in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** `next` as a plain function. */
  get uniform(): () => number {
    return () => this.next();
  }
}

/** Python's `random.uniform(a, b)`. */
export const uniformIn = (u: () => number, a: number, b: number) => a + (b - a) * u();

/** Python's `random.randint(a, b)`: an integer in [a, b], both ends included. */
export const randint = (u: () => number, a: number, b: number) => a + Math.floor(u() * (b - a + 1));

/** A standard normal draw (Box–Muller). */
export function normal(u: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

/** Python's `round(x)`: to the nearest integer, halves to even. */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** A 32-bit seed mixed from several integers (a seed, an epoch, a position), for independent streams. */
export function mixSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}
