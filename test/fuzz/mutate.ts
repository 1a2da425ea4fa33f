/**
 * Mutations of seed inputs as fast-check arbitraries: bit flips, interesting bytes and integers,
 * insertions, deletions, truncation and splices of the input into itself.
 */
import fc from 'fast-check';

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'byte'; at: number; value: number }
  | { kind: 'int32'; at: number; value: number }
  | { kind: 'insert'; at: number; bytes: number[] }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'splice'; at: number; from: number; length: number };

const INTERESTING_BYTES = [0, 1, 0x7f, 0x80, 0xff, 0x2e, 0x28, 0x52, 0x81, 0x63];
const INTERESTING_INTS = [0, 1, -1, 0x7fffffff, -0x80000000, 0xffff, 0x10000, 65535 * 65535, 0x40000000];

/** A uniform position in [0, 1) (fc.double samples bit patterns, which crowd near 0). */
const frac = fc.noBias(fc.integer({ min: 0, max: 999_999 })).map((i) => i / 1_000_000);

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: frac, bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({
    kind: fc.constant('byte' as const),
    at: frac,
    value: fc.oneof(fc.constantFrom(...INTERESTING_BYTES), fc.integer({ min: 0, max: 255 })),
  }),
  fc.record({ kind: fc.constant('int32' as const), at: frac, value: fc.constantFrom(...INTERESTING_INTS) }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: frac,
    bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 16 }),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: frac, length: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: frac }),
  fc.record({ kind: fc.constant('splice' as const), at: frac, from: frac, length: fc.integer({ min: 1, max: 64 }) }),
) as fc.Arbitrary<Mutation>;

function apply(input: Uint8Array, m: Mutation): Uint8Array {
  const pos = (f: number) => Math.floor(f * Math.max(1, input.length));
  const at = pos(m.at);
  switch (m.kind) {
    case 'flip': {
      const out = input.slice();
      if (out.length) out[at] ^= 1 << m.bit;
      return out;
    }
    case 'byte': {
      const out = input.slice();
      if (out.length) out[at] = m.value;
      return out;
    }
    case 'int32': {
      const out = input.slice();
      if (at + 4 <= out.length) new DataView(out.buffer).setInt32(at, m.value, true);
      return out;
    }
    case 'insert':
      return Uint8Array.from([...input.subarray(0, at), ...m.bytes, ...input.subarray(at)]);
    case 'delete':
      return Uint8Array.from([...input.subarray(0, at), ...input.subarray(at + m.length)]);
    case 'truncate':
      return input.slice(0, at);
    case 'splice': {
      const from = pos(m.from);
      const piece = input.slice(from, from + m.length);
      const out = input.slice();
      out.set(piece.subarray(0, Math.max(0, out.length - at)), at);
      return out;
    }
  }
}

/** Inputs made from `seeds` by one to six mutations each, plus raw random bytes now and then. */
export function mutatedInputs(seeds: Uint8Array[]): fc.Arbitrary<Uint8Array> {
  const mutated = fc
    .record({
      seed: fc.integer({ min: 0, max: seeds.length - 1 }),
      mutations: fc.oneof(fc.array(mutation, { minLength: 1, maxLength: 2 }), fc.array(mutation, { minLength: 1, maxLength: 6 })),
    })
    .map(({ seed, mutations }) => mutations.reduce(apply, seeds[seed]));
  return fc.oneof({ arbitrary: mutated, weight: 9 }, { arbitrary: fc.uint8Array({ maxLength: 512 }), weight: 1 });
}
