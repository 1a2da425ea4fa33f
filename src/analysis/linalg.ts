/**
 * The linear algebra of the rank analysis, in float64: numerical rank with numpy's `matrix_rank`
 * convention (singular values above σ_max · N · ε_float32), computed two ways by the structure of the
 * matrix. A low-rank product A·Bᵀ (linear attention) gets its singular values exactly from QR
 * factorizations of the N×d factors and a d×d SVD. A dense N×N matrix gets them counted, not
 * computed: the number of singular values above τ is the number of eigenvalues of MᵀM above τ², which
 * is the inertia of MᵀM − τ²I, read off a Bunch–Kaufman LDLᵀ factorization (Sylvester's law).
 */

/** float32 machine epsilon, as numpy's `finfo(float32).eps`. */
export const EPS_FLOAT32 = 1.1920929e-7;

/** A dense row-major matrix. */
export interface Matrix {
  rows: number;
  cols: number;
  data: Float64Array;
}

/** Singular values of a small matrix (one-sided Jacobi), largest first. */
export function singularValues(m: Matrix): Float64Array {
  const { rows, cols } = m;
  // Work on columns of Aᵀ when wide, so that the rotated dimension is the smaller one.
  const tall = rows >= cols;
  const n = tall ? cols : rows;
  const len = tall ? rows : cols;
  const u = new Float64Array(n * len);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) u[tall ? j * len + i : i * len + j] = m.data[i * cols + j];
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0;
    for (let p = 0; p < n - 1; p++)
      for (let q = p + 1; q < n; q++) {
        let alpha = 0;
        let beta = 0;
        let gamma = 0;
        for (let k = 0; k < len; k++) {
          const a = u[p * len + k];
          const b = u[q * len + k];
          alpha += a * a;
          beta += b * b;
          gamma += a * b;
        }
        if (gamma === 0 || Math.abs(gamma) <= 1e-15 * Math.sqrt(alpha * beta)) continue;
        off = Math.max(off, Math.abs(gamma) / Math.sqrt(alpha * beta));
        const zeta = (beta - alpha) / (2 * gamma);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        for (let k = 0; k < len; k++) {
          const a = u[p * len + k];
          const b = u[q * len + k];
          u[p * len + k] = c * a - s * b;
          u[q * len + k] = s * a + c * b;
        }
      }
    if (off < 1e-15) break;
  }
  const sv = new Float64Array(n);
  for (let p = 0; p < n; p++) {
    let s = 0;
    for (let k = 0; k < len; k++) s += u[p * len + k] ** 2;
    sv[p] = Math.sqrt(s);
  }
  return sv.sort().reverse();
}

/** The R factor of a Householder QR of a tall N×d matrix (d×d, upper triangular). */
export function qrR(m: Matrix): Matrix {
  const { rows, cols } = m;
  const a = Float64Array.from(m.data);
  for (let k = 0; k < Math.min(rows - 1, cols); k++) {
    let norm = 0;
    for (let i = k; i < rows; i++) norm += a[i * cols + k] ** 2;
    norm = Math.sqrt(norm);
    if (norm === 0) continue;
    const alpha = a[k * cols + k] > 0 ? -norm : norm;
    const v0 = a[k * cols + k] - alpha;
    let vv = v0 * v0;
    for (let i = k + 1; i < rows; i++) vv += a[i * cols + k] ** 2;
    if (vv === 0) continue;
    for (let j = k + 1; j < cols; j++) {
      let dot = v0 * a[k * cols + j];
      for (let i = k + 1; i < rows; i++) dot += a[i * cols + k] * a[i * cols + j];
      const f = (2 * dot) / vv;
      a[k * cols + j] -= f * v0;
      for (let i = k + 1; i < rows; i++) a[i * cols + j] -= f * a[i * cols + k];
    }
    a[k * cols + k] = alpha;
    for (let i = k + 1; i < rows; i++) a[i * cols + k] = 0;
  }
  const d = Math.min(rows, cols);
  const r = new Float64Array(d * cols);
  for (let i = 0; i < d; i++) for (let j = i; j < cols; j++) r[i * cols + j] = a[i * cols + j];
  return { rows: d, cols, data: r };
}

/** Singular values of A·Bᵀ for tall A (N×d) and B (M×d), without forming the product. */
export function lowRankSingularValues(a: Matrix, b: Matrix): Float64Array {
  const ra = qrR(a);
  const rb = qrR(b);
  const d = a.cols;
  const core = new Float64Array(ra.rows * rb.rows);
  for (let i = 0; i < ra.rows; i++)
    for (let j = 0; j < rb.rows; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += ra.data[i * d + k] * rb.data[j * d + k];
      core[i * rb.rows + j] = s;
    }
  return singularValues({ rows: ra.rows, cols: rb.rows, data: core });
}

/** The numpy `matrix_rank` threshold for a matrix of this size and largest singular value. */
export function rankTolerance(sigmaMax: number, rows: number, cols: number): number {
  return sigmaMax * Math.max(rows, cols) * EPS_FLOAT32;
}

/** Count of values above the threshold. */
export function countAbove(values: ArrayLike<number>, tol: number): number {
  let n = 0;
  for (let i = 0; i < values.length; i++) if (values[i] > tol) n++;
  return n;
}

/** The largest eigenvalue of a symmetric positive semi-definite n×n matrix (power iteration). */
export function largestEigenvalue(g: Float64Array, n: number): number {
  let v = new Float64Array(n).fill(1 / Math.sqrt(n));
  let lambda = 0;
  for (let it = 0; it < 500; it++) {
    const w = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      const row = i * n;
      for (let j = 0; j < n; j++) s += g[row + j] * v[j];
      w[i] = s;
    }
    let norm = 0;
    for (let i = 0; i < n; i++) norm += w[i] * w[i];
    norm = Math.sqrt(norm);
    if (norm === 0) return 0;
    for (let i = 0; i < n; i++) w[i] /= norm;
    const prev = lambda;
    lambda = norm;
    v = w;
    if (it > 5 && Math.abs(lambda - prev) <= 1e-13 * lambda) break;
  }
  return lambda;
}

/**
 * The number of eigenvalues above `shift` of a symmetric n×n matrix, from the inertia of
 * (G − shift·I) = L D Lᵀ with Bunch–Kaufman pivoting. `g` is overwritten.
 */
export function eigenvaluesAbove(g: Float64Array, n: number, shift: number): number {
  for (let i = 0; i < n; i++) g[i * n + i] -= shift;
  const alpha = (1 + Math.sqrt(17)) / 8;
  const at = (i: number, j: number) => (i >= j ? g[i * n + j] : g[j * n + i]);
  const swap = (p: number, q: number) => {
    if (p === q) return;
    // Symmetric permutation of rows/columns p < q in the lower triangle.
    const lo = Math.min(p, q);
    const hi = Math.max(p, q);
    for (let j = 0; j < lo; j++) [g[lo * n + j], g[hi * n + j]] = [g[hi * n + j], g[lo * n + j]];
    for (let j = lo + 1; j < hi; j++) [g[j * n + lo], g[hi * n + j]] = [g[hi * n + j], g[j * n + lo]];
    for (let i = hi + 1; i < n; i++) [g[i * n + lo], g[i * n + hi]] = [g[i * n + hi], g[i * n + lo]];
    [g[lo * n + lo], g[hi * n + hi]] = [g[hi * n + hi], g[lo * n + lo]];
  };
  const col1 = new Float64Array(n);
  const col2 = new Float64Array(n);
  let positive = 0;
  let k = 0;
  while (k < n) {
    const akk = Math.abs(at(k, k));
    let r = k;
    let colmax = 0;
    for (let i = k + 1; i < n; i++) {
      const v = Math.abs(at(i, k));
      if (v > colmax) {
        colmax = v;
        r = i;
      }
    }
    let size = 1;
    if (akk === 0 && colmax === 0) {
      k++;
      continue;
    }
    if (akk < alpha * colmax) {
      let rowmax = 0;
      for (let j = k; j < n; j++) if (j !== r) rowmax = Math.max(rowmax, Math.abs(at(r, j)));
      if (akk * rowmax >= alpha * colmax * colmax) {
        // 1×1 pivot at k.
      } else if (Math.abs(at(r, r)) >= alpha * rowmax) swap(k, r);
      else {
        swap(k + 1, r);
        size = 2;
      }
    }
    if (size === 1) {
      const d = g[k * n + k];
      if (d > 0) positive++;
      // Trailing update G[i][j] -= G[i][k]·G[j][k]/d over the lower triangle, row by row.
      for (let j = k + 1; j < n; j++) col1[j] = g[j * n + k];
      for (let i = k + 1; i < n; i++) {
        const f = col1[i] / d;
        if (f === 0) continue;
        const row = i * n;
        for (let j = k + 1; j <= i; j++) g[row + j] -= f * col1[j];
      }
      k++;
    } else {
      const d11 = g[k * n + k];
      const d21 = g[(k + 1) * n + k];
      const d22 = g[(k + 1) * n + k + 1];
      const det = d11 * d22 - d21 * d21;
      // A 2×2 pivot from Bunch–Kaufman is indefinite: one positive and one negative eigenvalue.
      positive += det < 0 ? 1 : d11 + d22 > 0 ? 2 : 0;
      for (let j = k + 2; j < n; j++) {
        col1[j] = g[j * n + k];
        col2[j] = g[j * n + k + 1];
      }
      for (let i = k + 2; i < n; i++) {
        const l1 = (d22 * col1[i] - d21 * col2[i]) / det;
        const l2 = (d11 * col2[i] - d21 * col1[i]) / det;
        const row = i * n;
        for (let j = k + 2; j <= i; j++) g[row + j] -= l1 * col1[j] + l2 * col2[j];
      }
      k += 2;
    }
  }
  return positive;
}
