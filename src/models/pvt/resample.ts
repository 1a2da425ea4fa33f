/**
 * The two resamplings PVT applies to constant tensors, computed once in TypeScript the way PyTorch
 * computes them: bilinear interpolation of a position embedding (`F.interpolate(mode='bilinear')`)
 * and adaptive average pooling (`nn.AdaptiveAvgPool2d`) as a pooling matrix.
 */

/** Bilinear resize, align_corners=False, of (C, h, w) channel-last tokens (h·w, C) to (H·W, C). */
export function bilinearTokens(src: Float32Array, C: number, h: number, w: number, H: number, W: number): Float32Array {
  if (h === H && w === W) return src;
  const axis = (inSize: number, outSize: number) => {
    const scale = Math.fround(inSize / outSize);
    return Array.from({ length: outSize }, (_, i) => {
      const s = Math.max(Math.fround(Math.fround(scale * Math.fround(i + 0.5)) - 0.5), 0);
      const i0 = Math.floor(s);
      const l1 = Math.fround(s - i0);
      return { i0, i1: i0 < inSize - 1 ? i0 + 1 : i0, l0: Math.fround(1 - l1), l1 };
    });
  };
  const ys = axis(h, H);
  const xs = axis(w, W);
  const out = new Float32Array(H * W * C);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++)
      for (let c = 0; c < C; c++) {
        const a = ys[y];
        const b = xs[x];
        const v = (r: number, q: number) => src[(r * w + q) * C + c];
        out[(y * W + x) * C + c] =
          a.l0 * (b.l0 * v(a.i0, b.i0) + b.l1 * v(a.i0, b.i1)) + a.l1 * (b.l0 * v(a.i1, b.i0) + b.l1 * v(a.i1, b.i1));
      }
  return out;
}

/** The (H·W, s·s) matrix of `AdaptiveAvgPool2d(s)` on an H×W grid. */
export function adaptivePoolMatrix(H: number, W: number, s: number): Float32Array {
  const m = new Float32Array(H * W * s * s);
  for (let i = 0; i < s; i++) {
    const r0 = Math.floor((i * H) / s);
    const r1 = Math.ceil(((i + 1) * H) / s);
    for (let j = 0; j < s; j++) {
      const c0 = Math.floor((j * W) / s);
      const c1 = Math.ceil(((j + 1) * W) / s);
      const inv = 1 / ((r1 - r0) * (c1 - c0));
      for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) m[(r * W + c) * s * s + i * s + j] = inv;
    }
  }
  return m;
}
