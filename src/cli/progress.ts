/**
 * A progress bar on stderr, drawn only when stderr is a terminal (never into pipes, logs or JSON runs).
 */

/** Formats seconds as m:ss. */
const clock = (s: number) => `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, '0')}`;

/** A progress bar for `total` units of work. */
export class Progress {
  private readonly start = performance.now();
  private lastDraw = 0;
  readonly enabled: boolean;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly unit: 'img' | 'bytes' = 'img',
    enabled = process.stderr.isTTY === true,
  ) {
    this.enabled = enabled && total > 0;
  }

  /** Redraws with `done` units finished (at most ten times a second). */
  update(done: number): void {
    if (!this.enabled) return;
    const now = performance.now();
    if (now - this.lastDraw < 100 && done < this.total) return;
    this.lastDraw = now;
    const secs = (now - this.start) / 1000;
    const frac = Math.min(1, done / this.total);
    const width = 24;
    const bar = '#'.repeat(Math.round(frac * width)).padEnd(width, '.');
    const rate = secs > 0 ? done / secs : 0;
    const eta = rate > 0 ? clock((this.total - done) / rate) : '-:--';
    const amount =
      this.unit === 'bytes'
        ? `${(done / 2 ** 20).toFixed(1)}/${(this.total / 2 ** 20).toFixed(1)} MiB ${(rate / 2 ** 20).toFixed(1)} MiB/s`
        : `${done}/${this.total} ${rate.toFixed(1)} img/s`;
    process.stderr.write(`\r${this.label} [${bar}] ${amount} ETA ${eta}\x1b[K`);
  }

  /** Clears the bar. */
  finish(): void {
    if (this.enabled) process.stderr.write('\r\x1b[K');
  }
}
