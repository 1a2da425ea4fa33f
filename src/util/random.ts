/**
 * A small seeded generator (mulberry32) whose state is one 32-bit integer: random weights use it, and
 * the training loop saves its state in checkpoints so that a resumed run draws exactly what the
 * uninterrupted run would have drawn.
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
