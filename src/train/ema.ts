/**
 * The exponential moving average of the weights (`main_ema.py`'s timm `ModelEma`): after every step,
 * ema ← decay·ema + (1 − decay)·model for every floating-point entry, in float32.
 */

const f = Math.fround;

/** EMA weights under our parameter names. */
export class ModelEma {
  constructor(
    readonly decay: number,
    readonly weights: Map<string, Float32Array>,
  ) {}

  /** Starts from a copy of the model's weights. */
  static from(params: ReadonlyMap<string, Float32Array>, decay: number): ModelEma {
    return new ModelEma(decay, new Map([...params].map(([k, v]) => [k, Float32Array.from(v)])));
  }

  /** One update towards the model's current weights. */
  update(params: ReadonlyMap<string, Float32Array>): void {
    const d = f(this.decay);
    const r = f(1 - this.decay);
    for (const [name, e] of this.weights) {
      const p = params.get(name)!;
      for (let i = 0; i < e.length; i++) e[i] = f(f(e[i] * d) + f(r * p[i]));
    }
  }
}
