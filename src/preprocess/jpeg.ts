/**
 * A JPEG decoder that reproduces libjpeg-turbo's output bit for bit, as PIL uses it: baseline and
 * progressive Huffman coding, the accurate integer IDCT (`jidctint.c`), "fancy" triangle upsampling
 * of subsampled chroma (`jdsample.c`), and libjpeg's fixed-point YCbCr→RGB tables (`jdcolor.c`).
 * Grayscale, RGB, YCbCr, CMYK and YCCK files are converted to RGB as `Image.convert('RGB')` does.
 * Lossless, arithmetic-coded and 12-bit files are refused. Every size is checked before allocation.
 */
import { FlattenError } from '../util/errors.js';
import { maxImagePixels, type RgbImage } from './image.js';

/** Zigzag position → natural (row-major) position in an 8×8 block. */
const ZIGZAG = new Int32Array([
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57,
  50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
]);

interface Component {
  id: number;
  h: number;
  v: number;
  tq: number;
  /** Blocks per row / column of the MCU-padded grid. */
  bw: number;
  bh: number;
  /** Real (downsampled) size in samples. */
  width: number;
  height: number;
  /** Quantized coefficients as libjpeg keeps them (JCOEF, 16 bits). */
  coefs: Int16Array;
  dcPred: number;
  dcTable: HuffTable | null;
  acTable: HuffTable | null;
}

interface HuffTable {
  /** For code lengths 1..16: largest code of that length (−1 if none), and the index offset. */
  maxcode: Int32Array;
  valoff: Int32Array;
  values: Uint8Array;
  /** 9-bit lookahead: (length << 8) | value, or 0 when the code is longer. */
  look: Uint16Array;
}

/** Decode-time state; a fresh one per file. */
interface Frame {
  progressive: boolean;
  width: number;
  height: number;
  hmax: number;
  vmax: number;
  mcusX: number;
  mcusY: number;
  comps: Component[];
}

/** What the markers said about the color space and orientation. */
export interface JpegInfo {
  jfif: boolean;
  adobe: boolean;
  adobeTransform: number;
  /** EXIF orientation (1–8), 1 when absent. */
  orientation: number;
}

function buildHuffman(counts: Uint8Array, values: Uint8Array, bad: (m: string) => never): HuffTable {
  const maxcode = new Int32Array(18).fill(-1);
  const valoff = new Int32Array(18);
  const look = new Uint16Array(512);
  let code = 0;
  let k = 0;
  for (let len = 1; len <= 16; len++) {
    const n = counts[len - 1];
    if (n > 0) {
      valoff[len] = k - code;
      for (let i = 0; i < n; i++) {
        if (len <= 9) {
          const shift = 9 - len;
          const base = code << shift;
          for (let j = 0; j < 1 << shift; j++) look[base + j] = (len << 8) | values[k];
        }
        code++;
        k++;
      }
      maxcode[len] = code - 1;
    }
    if (code > 1 << len) bad('a Huffman table is invalid');
    code <<= 1;
  }
  maxcode[17] = 0x7fffffff;
  return { maxcode, valoff, values, look };
}

/** Reads entropy-coded bits, removing byte stuffing and stopping (with zeros) at markers. */
class BitReader {
  private acc = 0;
  private bits = 0;
  /** Set when a marker or the end of data was reached; further bits are zeros, as in libjpeg. */
  hitMarker = false;
  /** Zero bits appended after the data ended (the last of them may still be in the buffer). */
  private zeros = 0;
  constructor(
    private readonly data: Uint8Array,
    public pos: number,
  ) {}

  private fill(): void {
    while (this.bits <= 24) {
      let byte = 0;
      if (!this.hitMarker && this.pos < this.data.length) {
        byte = this.data[this.pos];
        if (byte === 0xff) {
          const next = this.data[this.pos + 1];
          if (next === 0x00) this.pos += 2;
          else {
            this.hitMarker = true;
            byte = 0;
            this.zeros += 8;
          }
        } else this.pos++;
      } else {
        this.hitMarker = true;
        this.zeros += 8;
      }
      this.acc = ((this.acc << 8) | byte) >>> 0;
      this.bits += 8;
    }
  }

  /**
   * Whether bits past the end of the data were consumed: libjpeg's `insufficient_data`, after which
   * it leaves the rest of the segment's blocks untouched.
   */
  get exhausted(): boolean {
    return this.bits < this.zeros;
  }

  peek(n: number): number {
    if (this.bits < n) this.fill();
    return (this.acc >>> (this.bits - n)) & ((1 << n) - 1);
  }

  skip(n: number): void {
    this.bits -= n;
  }

  get(n: number): number {
    if (n === 0) return 0;
    const v = this.peek(n);
    this.bits -= n;
    return v;
  }

  bit(): number {
    return this.get(1);
  }

  decode(t: HuffTable): number {
    const look = t.look[this.peek(9)];
    if (look !== 0) {
      this.skip(look >> 8);
      return look & 0xff;
    }
    let code = this.get(9);
    let len = 9;
    while (code > t.maxcode[len]) {
      code = (code << 1) | this.bit();
      len++;
      if (len > 16) return 0;
    }
    return t.values[code + t.valoff[len]];
  }

  /** Discards buffered bits and resynchronizes after a restart marker. */
  restart(): void {
    this.acc = 0;
    this.bits = 0;
    this.hitMarker = false;
    this.zeros = 0;
    while (
      this.pos + 1 < this.data.length &&
      !(this.data[this.pos] === 0xff && this.data[this.pos + 1] >= 0xd0 && this.data[this.pos + 1] <= 0xd7)
    )
      this.pos++;
    if (this.pos + 1 < this.data.length) this.pos += 2;
  }
}

const extend = (v: number, s: number) => (s === 0 ? 0 : v < 1 << (s - 1) ? v - (1 << s) + 1 : v);

/** Decodes one scan's entropy-coded data into the components' coefficients. */
function decodeScan(
  data: Uint8Array,
  start: number,
  f: Frame,
  comps: Component[],
  ss: number,
  se: number,
  ah: number,
  al: number,
  restartInterval: number,
  budget: { blocks: number; limit: string },
): number {
  const r = new BitReader(data, start);
  let eobrun = 0;
  const decodeBlock = (c: Component, off: number): void => {
    const co = c.coefs;
    if (!f.progressive) {
      const s = r.decode(c.dcTable!);
      c.dcPred += extend(r.get(s), s);
      co[off] = c.dcPred;
      for (let k = 1; k < 64;) {
        const rs = r.decode(c.acTable!);
        const run = rs >> 4;
        const sz = rs & 15;
        if (sz) {
          k += run;
          if (k > 63) break;
          co[off + ZIGZAG[k]] = extend(r.get(sz), sz);
          k++;
        } else if (run === 15) k += 16;
        else break;
      }
      return;
    }
    if (ss === 0) {
      if (ah === 0) {
        const s = r.decode(c.dcTable!);
        c.dcPred += extend(r.get(s), s);
        co[off] = c.dcPred * (1 << al);
      } else if (r.bit()) co[off] |= 1 << al;
      return;
    }
    if (ah === 0) {
      if (eobrun > 0) {
        eobrun--;
        return;
      }
      for (let k = ss; k <= se;) {
        const rs = r.decode(c.acTable!);
        const run = rs >> 4;
        const sz = rs & 15;
        if (sz) {
          k += run;
          if (k > 63) break;
          co[off + ZIGZAG[k]] = extend(r.get(sz), sz) * (1 << al);
          k++;
        } else if (run === 15) k += 16;
        else {
          eobrun = (1 << run) - 1 + r.get(run);
          break;
        }
      }
      return;
    }
    // AC refinement (jdphuff.c decode_mcu_AC_refine)
    const p1 = 1 << al;
    const m1 = -1 << al;
    let k = ss;
    if (eobrun === 0) {
      for (; k <= se;) {
        const rs = r.decode(c.acTable!);
        let run = rs >> 4;
        const sz = rs & 15;
        let value = 0;
        if (sz) value = r.bit() ? p1 : m1;
        else if (run !== 15) {
          eobrun = (1 << run) + r.get(run);
          break;
        }
        while (k <= se) {
          const z = off + ZIGZAG[k];
          if (co[z] !== 0) {
            if (r.bit() && (co[z] & p1) === 0) co[z] += co[z] >= 0 ? p1 : m1;
          } else {
            if (run === 0) {
              if (value !== 0) co[z] = value;
              k++;
              break;
            }
            run--;
          }
          k++;
        }
      }
    }
    if (eobrun > 0) {
      for (; k <= se; k++) {
        const z = off + ZIGZAG[k];
        if (co[z] !== 0 && r.bit() && (co[z] & p1) === 0) co[z] += co[z] >= 0 ? p1 : m1;
      }
      eobrun--;
    }
  };

  // As libjpeg-turbo: once a segment's data is exhausted (or a scan has none), its remaining blocks
  // keep their coefficients and cost nothing; decoding resumes after the next restart marker.
  const perMcu = comps.length === 1 ? 1 : comps.reduce((n, c) => n + c.h * c.v, 0);
  const mcus = comps.length === 1 ? Math.ceil(comps[0].width / 8) * Math.ceil(comps[0].height / 8) : f.mcusX * f.mcusY;
  const mcuBlock = (m: number): void => {
    if (comps.length === 1) {
      const c = comps[0];
      const bw = Math.ceil(c.width / 8);
      decodeBlock(c, (Math.floor(m / bw) * c.bw + (m % bw)) * 64);
      return;
    }
    const mx = m % f.mcusX;
    const my = Math.floor(m / f.mcusX);
    for (const c of comps)
      for (let v = 0; v < c.v; v++) for (let h = 0; h < c.h; h++) decodeBlock(c, ((my * c.v + v) * c.bw + mx * c.h + h) * 64);
  };
  const empty = data[start] === 0xff && data[start + 1] !== 0 && !(data[start + 1] >= 0xd0 && data[start + 1] <= 0xd7);
  for (let m = empty && restartInterval === 0 ? mcus : 0; m < mcus; m++) {
    if (restartInterval > 0 && m > 0 && m % restartInterval === 0) {
      r.restart();
      eobrun = 0;
      for (const c of comps) c.dcPred = 0;
    }
    if (r.exhausted) {
      if (restartInterval === 0) break;
      m = (Math.floor(m / restartInterval) + 1) * restartInterval - 1; // on to the next restart marker
      continue;
    }
    budget.blocks -= perMcu;
    if (budget.blocks < 0) throw new FlattenError('image', budget.limit);
    mcuBlock(m);
  }
  if (r.hitMarker) return r.pos;
  // Skip to the next marker.
  let p = r.pos;
  while (p + 1 < data.length && !(data[p] === 0xff && data[p + 1] !== 0 && !(data[p + 1] >= 0xd0 && data[p + 1] <= 0xd7))) p++;
  return p;
}

/** libjpeg's post-IDCT range limit: `range_limit[x & 1023]` with its wrap-around table. */
const IDCT_LIMIT = (() => {
  const t = new Uint8Array(1024);
  for (let x = 0; x < 1024; x++) t[x] = x < 128 ? x + 128 : x < 512 ? 255 : x < 896 ? 0 : x - 896;
  return t;
})();

/** `jpeg_idct_islow`: dequantizes and inverse-transforms one block into 8×8 samples. */
function idctIslow(co: Int16Array, off: number, q: Int32Array, out: Uint8Array, outOff: number, stride: number, ws: Float64Array): void {
  const CB = 13;
  const P1 = 2;
  const d = (x: number, n: number) => Math.floor((x + 2 ** (n - 1)) / 2 ** n);
  for (let c = 0; c < 8; c++) {
    const i = off + c;
    if (
      co[i + 8] === 0 &&
      co[i + 16] === 0 &&
      co[i + 24] === 0 &&
      co[i + 32] === 0 &&
      co[i + 40] === 0 &&
      co[i + 48] === 0 &&
      co[i + 56] === 0
    ) {
      const dc = co[i] * q[c] * 4;
      for (let rr = 0; rr < 8; rr++) ws[rr * 8 + c] = dc;
      continue;
    }
    let z2 = co[i + 16] * q[c + 16];
    let z3 = co[i + 48] * q[c + 48];
    let z1 = (z2 + z3) * 4433;
    let tmp2 = z1 + z3 * -15137;
    let tmp3 = z1 + z2 * 6270;
    z2 = co[i] * q[c];
    z3 = co[i + 32] * q[c + 32];
    let tmp0 = (z2 + z3) * 8192;
    let tmp1 = (z2 - z3) * 8192;
    const tmp10 = tmp0 + tmp3;
    const tmp13 = tmp0 - tmp3;
    const tmp11 = tmp1 + tmp2;
    const tmp12 = tmp1 - tmp2;
    tmp0 = co[i + 56] * q[c + 56];
    tmp1 = co[i + 40] * q[c + 40];
    tmp2 = co[i + 24] * q[c + 24];
    tmp3 = co[i + 8] * q[c + 8];
    z1 = tmp0 + tmp3;
    z2 = tmp1 + tmp2;
    z3 = tmp0 + tmp2;
    let z4 = tmp1 + tmp3;
    const z5 = (z3 + z4) * 9633;
    tmp0 *= 2446;
    tmp1 *= 16819;
    tmp2 *= 25172;
    tmp3 *= 12299;
    z1 *= -7373;
    z2 *= -20995;
    z3 = z3 * -16069 + z5;
    z4 = z4 * -3196 + z5;
    tmp0 += z1 + z3;
    tmp1 += z2 + z4;
    tmp2 += z2 + z3;
    tmp3 += z1 + z4;
    ws[c] = d(tmp10 + tmp3, CB - P1);
    ws[56 + c] = d(tmp10 - tmp3, CB - P1);
    ws[8 + c] = d(tmp11 + tmp2, CB - P1);
    ws[48 + c] = d(tmp11 - tmp2, CB - P1);
    ws[16 + c] = d(tmp12 + tmp1, CB - P1);
    ws[40 + c] = d(tmp12 - tmp1, CB - P1);
    ws[24 + c] = d(tmp13 + tmp0, CB - P1);
    ws[32 + c] = d(tmp13 - tmp0, CB - P1);
  }
  for (let rr = 0; rr < 8; rr++) {
    const w = rr * 8;
    const o = outOff + rr * stride;
    if (ws[w + 1] === 0 && ws[w + 2] === 0 && ws[w + 3] === 0 && ws[w + 4] === 0 && ws[w + 5] === 0 && ws[w + 6] === 0 && ws[w + 7] === 0) {
      const v = IDCT_LIMIT[d(ws[w], P1 + 3) & 1023];
      for (let k = 0; k < 8; k++) out[o + k] = v;
      continue;
    }
    let z2 = ws[w + 2];
    let z3 = ws[w + 6];
    let z1 = (z2 + z3) * 4433;
    let tmp2 = z1 + z3 * -15137;
    let tmp3 = z1 + z2 * 6270;
    let tmp0 = (ws[w] + ws[w + 4]) * 8192;
    let tmp1 = (ws[w] - ws[w + 4]) * 8192;
    const tmp10 = tmp0 + tmp3;
    const tmp13 = tmp0 - tmp3;
    const tmp11 = tmp1 + tmp2;
    const tmp12 = tmp1 - tmp2;
    tmp0 = ws[w + 7];
    tmp1 = ws[w + 5];
    tmp2 = ws[w + 3];
    tmp3 = ws[w + 1];
    z1 = tmp0 + tmp3;
    z2 = tmp1 + tmp2;
    z3 = tmp0 + tmp2;
    let z4 = tmp1 + tmp3;
    const z5 = (z3 + z4) * 9633;
    tmp0 *= 2446;
    tmp1 *= 16819;
    tmp2 *= 25172;
    tmp3 *= 12299;
    z1 *= -7373;
    z2 *= -20995;
    z3 = z3 * -16069 + z5;
    z4 = z4 * -3196 + z5;
    tmp0 += z1 + z3;
    tmp1 += z2 + z4;
    tmp2 += z2 + z3;
    tmp3 += z1 + z4;
    const n = CB + P1 + 3;
    out[o] = IDCT_LIMIT[d(tmp10 + tmp3, n) & 1023];
    out[o + 7] = IDCT_LIMIT[d(tmp10 - tmp3, n) & 1023];
    out[o + 1] = IDCT_LIMIT[d(tmp11 + tmp2, n) & 1023];
    out[o + 6] = IDCT_LIMIT[d(tmp11 - tmp2, n) & 1023];
    out[o + 2] = IDCT_LIMIT[d(tmp12 + tmp1, n) & 1023];
    out[o + 5] = IDCT_LIMIT[d(tmp12 - tmp1, n) & 1023];
    out[o + 3] = IDCT_LIMIT[d(tmp13 + tmp0, n) & 1023];
    out[o + 4] = IDCT_LIMIT[d(tmp13 - tmp0, n) & 1023];
  }
}

/** Upsamples one component plane to the full image size as libjpeg-turbo's `jdsample.c` does. */
function upsample(plane: Uint8Array, stride: number, c: Component, f: Frame): Uint8Array {
  const W = f.width;
  const H = f.height;
  const sx = f.hmax / c.h;
  const sy = f.vmax / c.v;
  const cw = c.width;
  const ch = c.height;
  const at = (x: number, y: number) => plane[Math.min(y, ch - 1) * stride + x];
  const out = new Uint8Array(W * H);
  if (sx === 1 && sy === 1) {
    for (let y = 0; y < H; y++) out.set(plane.subarray(y * stride, y * stride + W), y * W);
    return out;
  }
  const row = new Uint8Array(cw * 2 + 2);
  const fancyH = cw > 2;
  if (sx === 2 && sy === 1) {
    for (let y = 0; y < H; y++) {
      if (fancyH) h2v1(plane, y * stride, cw, row);
      else for (let x = 0; x < cw; x++) row[2 * x] = row[2 * x + 1] = plane[y * stride + x];
      out.set(row.subarray(0, W), y * W);
    }
    return out;
  }
  if (sx === 1 && sy === 2) {
    for (let y = 0; y < H; y++) {
      const iy = y >> 1;
      const near = iy;
      const far = y & 1 ? iy + 1 : iy - 1;
      const bias = y & 1 ? 2 : 1;
      for (let x = 0; x < W; x++) out[y * W + x] = (at(x, near) * 3 + at(x, Math.max(far, 0)) + bias) >> 2;
    }
    return out;
  }
  if (sx === 2 && sy === 2 && fancyH) {
    for (let y = 0; y < H; y++) {
      const iy = y >> 1;
      const far = Math.max(y & 1 ? iy + 1 : iy - 1, 0);
      const o = y * W;
      let thiscolsum = at(0, iy) * 3 + at(0, far);
      let nextcolsum = at(1, iy) * 3 + at(1, far);
      let lastcolsum = thiscolsum;
      const line = row;
      line[0] = (thiscolsum * 4 + 8) >> 4;
      line[1] = (thiscolsum * 3 + nextcolsum + 7) >> 4;
      lastcolsum = thiscolsum;
      thiscolsum = nextcolsum;
      for (let x = 2; x < cw; x++) {
        nextcolsum = at(x, iy) * 3 + at(x, far);
        line[2 * x - 2] = (thiscolsum * 3 + lastcolsum + 8) >> 4;
        line[2 * x - 1] = (thiscolsum * 3 + nextcolsum + 7) >> 4;
        lastcolsum = thiscolsum;
        thiscolsum = nextcolsum;
      }
      line[2 * cw - 2] = (thiscolsum * 3 + lastcolsum + 8) >> 4;
      line[2 * cw - 1] = (thiscolsum * 4 + 7) >> 4;
      out.set(line.subarray(0, W), o);
    }
    return out;
  }
  for (let y = 0; y < H; y++) {
    const iy = Math.floor(y / sy);
    for (let x = 0; x < W; x++) out[y * W + x] = at(Math.floor(x / sx), iy);
  }
  return out;
}

function h2v1(plane: Uint8Array, off: number, cw: number, out: Uint8Array): void {
  let v = plane[off];
  out[0] = v;
  out[1] = (v * 3 + plane[off + 1] + 2) >> 2;
  for (let x = 1; x < cw - 1; x++) {
    v = plane[off + x] * 3;
    out[2 * x] = (v + plane[off + x - 1] + 1) >> 2;
    out[2 * x + 1] = (v + plane[off + x + 1] + 2) >> 2;
  }
  v = plane[off + cw - 1];
  out[2 * cw - 2] = (v * 3 + plane[off + cw - 2] + 1) >> 2;
  out[2 * cw - 1] = v;
}

/** libjpeg's `build_ycc_rgb_table`. */
const YCC = (() => {
  const FIX = (x: number) => Math.floor(x * 65536 + 0.5);
  const crR = new Int32Array(256);
  const cbB = new Int32Array(256);
  const crG = new Float64Array(256);
  const cbG = new Float64Array(256);
  for (let i = 0; i < 256; i++) {
    const x = i - 128;
    crR[i] = Math.floor((FIX(1.402) * x + 32768) / 65536);
    cbB[i] = Math.floor((FIX(1.772) * x + 32768) / 65536);
    crG[i] = -FIX(0.71414) * x;
    cbG[i] = -FIX(0.34414) * x + 32768;
  }
  return { crR, cbB, crG, cbG };
})();

const clamp = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : v);

/** Pillow's `MULDIV255`. */
const muldiv255 = (a: number, b: number) => {
  const t = a * b + 128;
  return ((t >> 8) + t) >> 8;
};

function readInfo(data: Uint8Array, p: number, len: number, info: JpegInfo, marker: number): void {
  const seg = data.subarray(p, p + len);
  const ascii = (s: number, n: number) => String.fromCharCode(...seg.subarray(s, s + n));
  if (marker === 0xe0 && ascii(0, 5) === 'JFIF\0') info.jfif = true;
  if (marker === 0xee && ascii(0, 5) === 'Adobe' && seg.length >= 12) {
    info.adobe = true;
    info.adobeTransform = seg[11];
  }
  if (marker === 0xe1 && ascii(0, 6) === 'Exif\0\0') info.orientation = exifOrientation(seg.subarray(6));
}

/** EXIF orientation tag (0x0112) of a TIFF block, or 1. */
export function exifOrientation(t: Uint8Array): number {
  if (t.length < 8) return 1;
  const le = t[0] === 0x49;
  const dv = new DataView(t.buffer, t.byteOffset, t.byteLength);
  const u16 = (o: number) => dv.getUint16(o, le);
  const ifd = dv.getUint32(4, le);
  if (ifd + 2 > t.length) return 1;
  const n = u16(ifd);
  for (let i = 0; i < n; i++) {
    const e = ifd + 2 + i * 12;
    if (e + 12 > t.length) return 1;
    if (u16(e) === 0x0112) {
      const v = u16(e + 8);
      return v >= 1 && v <= 8 ? v : 1;
    }
  }
  return 1;
}

/** Most scans decoded (libjpeg-turbo's djpeg offers the same bound as `-maxscans`); each scan revisits every block. */
export const MAX_SCANS = 1000;

/**
 * The decoding work allowed, in passes over the frame's blocks: libjpeg's default progressive script
 * decodes the luma blocks six times and the chroma blocks four; a scan that ends its data early costs
 * nothing for the blocks it leaves, so only blocks actually decoded count.
 */
export const MAX_PASSES = 100;

/**
 * Decodes a JPEG file to RGB exactly as PIL (libjpeg-turbo) followed by `convert('RGB')` would.
 *
 * @example
 * ```ts
 * const { image, info } = decodeJpeg(readFileSync('photo.jpg'), 'photo.jpg');
 * ```
 */
export function decodeJpeg(data: Uint8Array, file: string, maxPixels = maxImagePixels()): { image: RgbImage; info: JpegInfo } {
  const bad = (m: string): never => {
    throw new FlattenError('image', `${file}: cannot decode JPEG: ${m}`);
  };
  if (data.length < 4 || data[0] !== 0xff || data[1] !== 0xd8) bad('missing the start-of-image marker');
  const info: JpegInfo = { jfif: false, adobe: false, adobeTransform: -1, orientation: 1 };
  const qt: Int32Array[] = [];
  const dc: HuffTable[] = [];
  const ac: HuffTable[] = [];
  let frame: Frame | null = null;
  let restartInterval = 0;
  let sawScan = false;
  let scans = 0;
  let budget: { blocks: number; limit: string } | null = null;
  let ended = false;
  let p = 2;
  while (p < data.length) {
    if (data[p] !== 0xff) {
      p++;
      continue;
    }
    const marker = data[p + 1];
    p += 2;
    if (marker === 0xff) {
      p--;
      continue;
    }
    if (marker === 0xd9) {
      ended = true;
      break;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue;
    if (p + 2 > data.length) break;
    const len = (data[p] << 8) | data[p + 1];
    if (len < 2 || p + len > data.length) bad('a marker segment runs past the end of the file (truncated)');
    const s = p + 2;
    const end = p + len;
    switch (marker) {
      case 0xc0:
      case 0xc1:
      case 0xc2: {
        if (frame) bad('more than one frame');
        if (data[s] !== 8) bad(`${data[s]}-bit samples are not supported (8-bit only)`);
        const height = (data[s + 1] << 8) | data[s + 2];
        const width = (data[s + 3] << 8) | data[s + 4];
        const n = data[s + 5];
        if (width === 0 || height === 0) bad('zero width or height');
        if (width * height > maxPixels)
          bad(`${width}x${height} is larger than the ${maxPixels} pixels allowed (FLATTEN_VIT_MAX_IMAGE_PIXELS raises the limit)`);
        if (n !== 1 && n !== 3 && n !== 4) bad(`${n} components are not supported`);
        if (s + 6 + n * 3 > end) bad('frame header is damaged');
        const raw = Array.from({ length: n }, (_, i) => ({
          id: data[s + 6 + i * 3],
          h: data[s + 7 + i * 3] >> 4,
          v: data[s + 7 + i * 3] & 15,
          tq: data[s + 8 + i * 3],
        }));
        if (raw.some((c) => c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4 || c.tq > 3)) bad('invalid sampling factors');
        const hmax = Math.max(...raw.map((c) => c.h));
        const vmax = Math.max(...raw.map((c) => c.v));
        const mcusX = Math.ceil(width / (8 * hmax));
        const mcusY = Math.ceil(height / (8 * vmax));
        const blocks = raw.reduce((n, c) => n + mcusX * c.h * mcusY * c.v, 0);
        if (blocks / 8 > data.length)
          bad(`declares ${width}x${height} pixels but holds ${data.length} bytes, less than one bit per block (truncated?)`);
        frame = {
          progressive: marker === 0xc2,
          width,
          height,
          hmax,
          vmax,
          mcusX,
          mcusY,
          comps: raw.map((c) => {
            const bw = mcusX * c.h;
            const bh = mcusY * c.v;
            return {
              ...c,
              bw,
              bh,
              width: Math.ceil((width * c.h) / hmax),
              height: Math.ceil((height * c.v) / vmax),
              coefs: new Int16Array(bw * bh * 64),
              dcPred: 0,
              dcTable: null,
              acTable: null,
            };
          }),
        };
        break;
      }
      case 0xc3:
      case 0xc5:
      case 0xc6:
      case 0xc7:
      case 0xcb:
      case 0xcd:
      case 0xce:
      case 0xcf:
        bad('lossless and hierarchical JPEGs are not supported');
        break;
      case 0xc9:
      case 0xca:
        bad('arithmetic-coded JPEGs are not supported');
        break;
      case 0xc4: {
        let q = s;
        while (q < end) {
          const tc = data[q] >> 4;
          const th = data[q] & 15;
          if (q + 17 > end || th > 3 || tc > 1) bad('a Huffman table is damaged');
          const counts = data.subarray(q + 1, q + 17);
          const total = counts.reduce((a, b) => a + b, 0);
          if (q + 17 + total > end || total > 256) bad('a Huffman table is damaged');
          const t = buildHuffman(counts, data.slice(q + 17, q + 17 + total), bad);
          (tc === 0 ? dc : ac)[th] = t;
          q += 17 + total;
        }
        break;
      }
      case 0xdb: {
        let q = s;
        while (q < end) {
          const pq = data[q] >> 4;
          const tq = data[q] & 15;
          if (tq > 3 || pq > 1 || q + 1 + 64 * (pq + 1) > end) bad('a quantization table is damaged');
          const t = new Int32Array(64);
          for (let k = 0; k < 64; k++) t[ZIGZAG[k]] = pq ? (data[q + 1 + 2 * k] << 8) | data[q + 2 + 2 * k] : data[q + 1 + k];
          qt[tq] = t;
          q += 1 + 64 * (pq + 1);
        }
        break;
      }
      case 0xdd:
        restartInterval = (data[s] << 8) | data[s + 1];
        break;
      case 0xda: {
        if (!frame) bad('a scan comes before the frame header');
        budget ??= {
          blocks: MAX_PASSES * frame!.comps.reduce((n, c) => n + c.bw * c.bh, 0),
          limit: `${file}: cannot decode JPEG: its scans would decode more than ${MAX_PASSES} times the frame's ${frame!.comps.reduce((n, c) => n + c.bw * c.bh, 0)} blocks (a progressive JPEG decodes each about ten times); the file is damaged`,
        };
        if (++scans > MAX_SCANS) bad(`has more than ${MAX_SCANS} scans; a progressive JPEG has about ten`);
        const f = frame!;
        const n = data[s];
        if (n < 1 || n > 4 || s + 1 + n * 2 + 3 > end) bad('a scan header is damaged');
        const comps: Component[] = [];
        for (let i = 0; i < n; i++) {
          const c = f.comps.find((x) => x.id === data[s + 1 + i * 2]);
          if (!c) bad('a scan refers to an unknown component');
          const t = data[s + 2 + i * 2];
          c!.dcTable = dc[t >> 4] ?? null;
          c!.acTable = ac[t & 15] ?? null;
          comps.push(c!);
        }
        const q = s + 1 + n * 2;
        const ss = data[q];
        const se = data[q + 1];
        const ah = data[q + 2] >> 4;
        const al = data[q + 2] & 15;
        if (ss > 63 || se > 63 || ss > se) bad('a scan has an invalid spectral range');
        for (const c of comps) {
          if ((ss === 0 && ah === 0 && !c.dcTable) || (se > 0 && !c.acTable) || (!f.progressive && (!c.dcTable || !c.acTable))) {
            bad('a scan uses an undefined Huffman table');
          }
          c.dcPred = 0;
        }
        p = decodeScan(
          data,
          end,
          f,
          comps,
          f.progressive ? ss : 0,
          f.progressive ? se : 63,
          f.progressive ? ah : 0,
          f.progressive ? al : 0,
          restartInterval,
          budget!,
        );
        sawScan = true;
        continue;
      }
      default:
        if (marker >= 0xe0 && marker <= 0xef) readInfo(data, s, len - 2, info, marker);
    }
    p = end;
  }
  if (!frame || !sawScan) bad('no image data');
  if (!ended) bad('the file is truncated (no end-of-image marker)');
  const f = frame!;
  for (const c of f.comps) if (!qt[c.tq]) bad('a quantization table is missing');

  const planes = f.comps.map((c) => {
    const stride = c.bw * 8;
    const plane = new Uint8Array(stride * c.bh * 8);
    const ws = new Float64Array(64);
    const q = qt[c.tq];
    for (let by = 0; by < c.bh; by++)
      for (let bx = 0; bx < c.bw; bx++) idctIslow(c.coefs, (by * c.bw + bx) * 64, q, plane, by * 8 * stride + bx * 8, stride, ws);
    c.coefs = new Int16Array(0);
    return upsample(plane, stride, c, f);
  });
  return { image: toRgb(planes, f, info), info };
}

function toRgb(planes: Uint8Array[], f: Frame, info: JpegInfo): RgbImage {
  const n = f.width * f.height;
  const out = new Uint8Array(n * 3);
  if (planes.length === 1) {
    for (let i = 0; i < n; i++) out[i * 3] = out[i * 3 + 1] = out[i * 3 + 2] = planes[0][i];
    return { width: f.width, height: f.height, data: out };
  }
  const ids = f.comps.map((c) => c.id);
  if (planes.length === 3) {
    const rgb = info.jfif ? false : info.adobe ? info.adobeTransform === 0 : ids[0] === 82 && ids[1] === 71 && ids[2] === 66;
    const [a, b, c] = planes;
    for (let i = 0; i < n; i++) {
      if (rgb) {
        out[i * 3] = a[i];
        out[i * 3 + 1] = b[i];
        out[i * 3 + 2] = c[i];
      } else {
        const y = a[i];
        out[i * 3] = clamp(y + YCC.crR[c[i]]);
        out[i * 3 + 1] = clamp(y + Math.floor((YCC.cbG[b[i]] + YCC.crG[c[i]]) / 65536));
        out[i * 3 + 2] = clamp(y + YCC.cbB[b[i]]);
      }
    }
    return { width: f.width, height: f.height, data: out };
  }
  // Four components: CMYK, or YCCK when the Adobe marker says so; PIL reads Adobe files inverted.
  const ycck = info.adobe && info.adobeTransform === 2;
  const [p0, p1, p2, p3] = planes;
  for (let i = 0; i < n; i++) {
    let cc = p0[i];
    let mm = p1[i];
    let yy = p2[i];
    if (ycck) {
      const y = p0[i];
      cc = clamp(255 - (y + YCC.crR[p2[i]]));
      mm = clamp(255 - (y + Math.floor((YCC.cbG[p1[i]] + YCC.crG[p2[i]]) / 65536)));
      yy = clamp(255 - (y + YCC.cbB[p1[i]]));
    }
    let k = p3[i];
    if (info.adobe) {
      cc = 255 - cc;
      mm = 255 - mm;
      yy = 255 - yy;
      k = 255 - k;
    }
    const nk = 255 - k;
    out[i * 3] = clamp(nk - muldiv255(cc, nk));
    out[i * 3 + 1] = clamp(nk - muldiv255(mm, nk));
    out[i * 3 + 2] = clamp(nk - muldiv255(yy, nk));
  }
  return { width: f.width, height: f.height, data: out };
}
