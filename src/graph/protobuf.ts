/**
 * A minimal protocol-buffers writer: just the wire types ONNX needs (varint, 32-bit float,
 * length-delimited). Large byte fields are kept as references until {@link PbWriter.finish}, so a
 * model's weights are copied exactly once into the serialized model.
 */

const WIRE_VARINT = 0;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

/** Builds one protobuf message. */
export class PbWriter {
  private readonly chunks: Uint8Array[] = [];
  private scratch: number[] = [];
  /** Serialized length in bytes so far. */
  length = 0;

  private flushScratch(): void {
    if (this.scratch.length > 0) {
      this.chunks.push(Uint8Array.from(this.scratch));
      this.scratch = [];
    }
  }

  private pushVarint(v: bigint | number): void {
    let x = typeof v === 'bigint' ? BigInt.asUintN(64, v) : v >= 0 ? v : BigInt.asUintN(64, BigInt(v));
    if (typeof x === 'number') {
      while (x > 0x7f) {
        this.scratch.push((x % 128) | 0x80);
        x = Math.floor(x / 128);
        this.length++;
      }
      this.scratch.push(x);
      this.length++;
      return;
    }
    while (x > 0x7fn) {
      this.scratch.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
      this.length++;
    }
    this.scratch.push(Number(x));
    this.length++;
  }

  private tag(field: number, wire: number): void {
    this.pushVarint((field << 3) | wire);
  }

  /** An int32/int64/enum/bool field. */
  int(field: number, v: number | bigint): this {
    this.tag(field, WIRE_VARINT);
    this.pushVarint(v);
    return this;
  }

  /** A float field. */
  float(field: number, v: number): this {
    this.tag(field, WIRE_I32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    for (const x of b) this.scratch.push(x);
    this.length += 4;
    return this;
  }

  /** A bytes field; the data is referenced, not copied, until {@link finish}. */
  bytes(field: number, data: Uint8Array): this {
    this.tag(field, WIRE_LEN);
    this.pushVarint(data.length);
    this.flushScratch();
    this.chunks.push(data);
    this.length += data.length;
    return this;
  }

  /** A string field (UTF-8). */
  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  /** An embedded message field. */
  message(field: number, m: PbWriter): this {
    this.tag(field, WIRE_LEN);
    this.pushVarint(m.length);
    this.flushScratch();
    // one by one: a large graph has more parts than a spread call can take as arguments
    for (const part of m.parts()) this.chunks.push(part);
    this.length += m.length;
    return this;
  }

  /** A packed repeated int64 field. */
  packedInts(field: number, values: readonly (number | bigint)[]): this {
    const inner = new PbWriter();
    for (const v of values) inner.pushVarint(v);
    this.tag(field, WIRE_LEN);
    this.pushVarint(inner.length);
    this.flushScratch();
    for (const part of inner.parts()) this.chunks.push(part);
    this.length += inner.length;
    return this;
  }

  /** A packed repeated float field. */
  packedFloats(field: number, values: readonly number[]): this {
    const b = new Uint8Array(values.length * 4);
    const dv = new DataView(b.buffer);
    values.forEach((v, i) => dv.setFloat32(i * 4, v, true));
    return this.bytes(field, b);
  }

  private parts(): Uint8Array[] {
    this.flushScratch();
    return this.chunks;
  }

  /** Concatenates everything into one buffer. */
  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let p = 0;
    for (const c of this.parts()) {
      out.set(c, p);
      p += c.length;
    }
    return out;
  }
}
