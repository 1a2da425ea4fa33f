/**
 * Test helper: the second hostile corpus, built by generators rather than kept as files, one
 * generator per way of attacking a reader: opcode floods, amplification through the memo, calls that
 * copy their arguments, self-referencing arguments, integers and strings too large to handle, lying
 * zip records, decompression bombs, hostile `.npy` headers, endless JPEG scans, extreme image shapes,
 * oversized configurations, control characters meant for the terminal, and hostile folders.
 *
 * Each case is written into a folder by `make` and names the command that reads it and what must
 * happen: a one-line error matching `error`, or success (`error: null`).
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { fixture } from '../helpers/fixtures.js';
import { openCheckpoint } from '../../src/checkpoint/open.js';
import { encodeSafetensors } from '../../src/checkpoint/safetensors.js';
import { concatBytes } from '../../src/util/bytes.js';
import { contiguousStride, OrderedDict, PickleBytes, TensorSpec, TorchSaver } from '../helpers/torch_save.js';
import { writeZip } from '../helpers/zip_writer.js';

/** What reads the file: `predict` (as checkpoint or input), `preprocess`, `info`, or `eval` over a folder. */
export type AttackRole = 'checkpoint' | 'input' | 'image' | 'config' | 'folder';

export interface Attack {
  readonly name: string;
  readonly role: AttackRole;
  /** Writes the file (or folder) at `path`. */
  readonly make: (path: string) => void;
  /** The error line expected; null when the input is valid and the command must succeed. */
  readonly error: RegExp | null;
  readonly ext: string;
}

const PROTO2 = [0x80, 2];
const STOP = 0x2e;

/** A checkpoint whose data.pkl is `body` (protocol 2 header and STOP added), deflated so that floods stay small. */
function pickleFile(body: Uint8Array | number[], deflate = true): Uint8Array {
  const b = new Uint8Array(body.length + 3);
  b.set(PROTO2);
  b.set(body, 2);
  b[b.length - 1] = STOP;
  return new TorchSaver().save(null, { pickle: b, deflate });
}

/** `n` copies of `op` followed by `tail`. */
function flood(op: number[], n: number, head: number[] = [], tail: number[] = []): Uint8Array {
  const out = new Uint8Array(head.length + op.length * n + tail.length);
  out.set(head);
  for (let i = 0; i < n; i++) out.set(op, head.length + i * op.length);
  out.set(tail, head.length + op.length * n);
  return out;
}

const g = (module: string, name: string) => new PickleBytes().global(module, name).b;
const cat = (...parts: (number[] | Uint8Array)[]) => concatBytes(parts);

/** A list of `n` Nones (in thousands), memoised as 0, appended a thousand at a time: `] q0 (( N*1000 e)*n/1000`. */
const bigList = (n: number) => cat([0x5d, 0x71, 0], flood([0x28, ...new Array(1000).fill(0x4e), 0x65], n / 1000));
/** A tuple of `n` Nones, memoised as 0: `( N*n t q0`. */
const bigTuple = (n: number) => flood([0x4e], n, [0x28], [0x74, 0x71, 0]);

/** Calls `fn` on the memoised value 0 `times` times, dropping each result: `fn h0 TUPLE1 REDUCE POP`. */
const callMemo = (fn: number[], times: number, wrap = true) => flood([...fn, 0x68, 0, ...(wrap ? [0x85] : []), 0x52, 0x30], times);

/**
 * pvt_mini's checkpoint with every tensor re-stored by `place` (which returns the tensor's spec in
 * the saver), so that the file fits the model and the attack is reached only when tensors are read.
 */
function pvtMini(place: (t: TorchSaver, shape: number[], values: Float32Array, i: number) => TensorSpec): {
  saver: TorchSaver;
  root: OrderedDict;
} {
  const src = openCheckpoint(fixture('pvt_mini', 'checkpoint.pth'));
  const saver = new TorchSaver();
  const entries: [string, TensorSpec][] = [];
  let i = 0;
  for (const [k, lazy] of src.tensors) entries.push([k, place(saver, [...lazy.shape], lazy.read(), i++)]);
  src.close();
  return { saver, root: new OrderedDict(entries) };
}

/** pvt_mini's weights by their official names. */
function pvtMiniTensors(): Map<string, { shape: number[]; data: Float32Array }> {
  const src = openCheckpoint(fixture('pvt_mini', 'checkpoint.pth'));
  const out = new Map([...src.tensors].map(([k, t]) => [k, { shape: [...t.shape], data: t.read() }]));
  src.close();
  return out;
}

/** A zip holding one stored data.pkl whose central record is altered by `edit` (the view over the record). */
function zipWithCentral(edit: (cd: DataView, at: number) => void, extra?: Uint8Array): Uint8Array {
  const pkl = Uint8Array.from([...PROTO2, 0x7d, STOP]);
  const z = writeZip([{ name: 'archive/data.pkl', data: pkl }]);
  const dv = new DataView(z.buffer, z.byteOffset, z.byteLength);
  let cd = -1;
  for (let p = 0; p + 4 <= z.length; p++) if (dv.getUint32(p, true) === 0x02014b50) cd = p;
  if (!extra) {
    edit(dv, cd);
    return z;
  }
  // Rebuild with an extra field on the central record.
  const nameLen = dv.getUint16(cd + 28, true);
  const head = z.subarray(0, cd + 46 + nameLen);
  const tail = z.subarray(cd + 46 + nameLen);
  const out = cat(head, extra, tail);
  const ov = new DataView(out.buffer);
  ov.setUint16(cd + 30, extra.length, true);
  const eocd = out.length - 22;
  ov.setUint32(eocd + 12, ov.getUint32(eocd + 12, true) + extra.length, true);
  edit(ov, cd);
  return out;
}

/** A sparse file: `head`, then `zeros` zero bytes, without writing them. */
function sparse(path: string, head: Uint8Array, zeros: number): void {
  const fd = openSync(path, 'w');
  writeSync(fd, head, 0, head.length, 0);
  writeSync(fd, new Uint8Array(1), 0, 1, head.length + zeros - 1);
  closeSync(fd);
}

/** A `.npy` version-1 header for `descr` and the literal `shape` text, padded as numpy pads it. */
function npyHeader(descr: string, shape: string): Uint8Array {
  let h = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  h += ' '.repeat((64 - ((10 + h.length + 1) % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + h.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, h.length, true);
  out.set(new TextEncoder().encode(h), 10);
  return out;
}

/** A PNG of `w`×`h` black pixels. */
function png(w: number, h: number): Uint8Array {
  return PNG.sync.write(new PNG({ width: w, height: h }), { deflateLevel: 9 });
}

/** A progressive JPEG header (8×8, one component) followed by `scans` empty AC scans. */
function jpegScans(scans: number): Uint8Array {
  const seg = (marker: number, body: number[]) => [0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 0xff, ...body];
  const dqt = seg(0xdb, [0, ...new Array(64).fill(1)]);
  const sof2 = seg(0xc2, [8, 0, 8, 0, 8, 1, 1, 0x11, 0]);
  const dhtDc = seg(0xc4, [0x00, 1, ...new Array(15).fill(0), 0]);
  const dhtAc = seg(0xc4, [0x10, 1, ...new Array(15).fill(0), 0]);
  const dcScan = [...seg(0xda, [1, 1, 0x00, 0, 0, 0]), 0x00];
  const acScan = seg(0xda, [1, 1, 0x00, 1, 63, 0]);
  return cat([0xff, 0xd8], dqt, sof2, dhtDc, dhtAc, dcScan, flood(acScan, scans), [0xff, 0xd9]);
}

/**
 * A progressive grey JPEG of `width`×`height` whose AC scans each skip every block in a few bytes (EOB
 * runs of 32,767 blocks), or hold no data at all (`empty`): `scans` of them after one DC scan of one
 * bit per block (about 175 KB for 65535×1365, what the decoder asks of a frame that size).
 */
function jpegPasses(width: number, height: number, scans: number, empty: boolean): Uint8Array {
  const seg = (marker: number, body: number[]) => [0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 0xff, ...body];
  const dqt = seg(0xdb, [0, ...new Array(64).fill(1)]);
  const sof2 = seg(0xc2, [8, height >> 8, height & 0xff, width >> 8, width & 0xff, 1, 1, 0x11, 0]);
  const dhtDc = seg(0xc4, [0x00, 1, ...new Array(15).fill(0), 0]);
  const dhtAc = seg(0xc4, [0x10, 1, ...new Array(15).fill(0), 0xe0]); // one 1-bit code: EOB run of 2^14 + 14 bits
  const blocks = Math.ceil(width / 8) * Math.ceil(height / 8);
  const dcScan = cat(seg(0xda, [1, 1, 0x00, 0, 0, 0]), new Uint8Array(Math.ceil(blocks / 8))); // one 0 bit (DC difference 0) per block
  const bits = '0'.concat('1'.repeat(14)).repeat(Math.ceil(blocks / 32767));
  const bytes: number[] = [];
  for (let i = 0; i < bits.length; i += 8) {
    const b = parseInt(bits.slice(i, i + 8).padEnd(8, '1'), 2);
    bytes.push(b, ...(b === 0xff ? [0] : []));
  }
  const acScan = [...seg(0xda, [1, 1, 0x00, 1, 63, 0]), ...(empty ? [] : bytes)];
  return cat([0xff, 0xd8], dqt, sof2, dhtDc, dhtAc, dcScan, flood(acScan, scans), [0xff, 0xd9]);
}

/**
 * A pickle whose one string, memoised, is referenced `copies` times by a tuple, that tuple `copies`
 * times by the next, `levels` deep (a billion laughs: 10^9 references in about 300 bytes), and handed
 * to `module.name`, which takes a string.
 */
function laughs(module: string, name: string, levels: number, copies: number): Uint8Array {
  const text = new TextEncoder().encode('cuda:0');
  const body: number[] = [0x58, text.length, 0, 0, 0, ...text, 0x71, 0];
  for (let l = 1; l <= levels; l++) body.push(0x28, ...new Array(copies).fill([0x68, l - 1]).flat(), 0x74, 0x71, l);
  return pickleFile(cat(body, g(module, name), [0x68, levels, 0x85, 0x52]));
}

/** pvt_mini's checkpoint with every storage's class renamed `storageClass`. */
function storageClassFile(storageClass: string): Uint8Array {
  const { saver, root } = pvtMini((t, shape, v) => t.tensor('float32', shape, v));
  const text = Buffer.from(saver.pickle(new Map([['model', root]]))).toString('latin1');
  const pickle = Buffer.from(text.replaceAll('ctorch\nFloatStorage\n', `ctorch\n${storageClass}\n`), 'latin1');
  return saver.save(null, { pickle });
}

/** pvt_mini's tensors as views into three deflated storages of `mib` MiB each, in rotation. */
function rotatingDeflatedStorages(mib: number): Uint8Array {
  const zeros = new Uint8Array(mib * 2 ** 20);
  let keys: string[] = [];
  const { saver, root } = pvtMini((t, shape, _v, i) => {
    if (keys.length === 0) keys = [0, 1, 2].map(() => t.rawStorage('float32', zeros, zeros.length / 4));
    return new TensorSpec(keys[i % 3], shape, contiguousStride(shape));
  });
  return saver.save(new Map([['model', root]]), { deflate: true });
}

/** A safetensors file whose `__metadata__` is `json` (the tensor table itself is valid). */
function safetensors(json: string, headerLength?: number): Uint8Array {
  const header = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + header.length + 16);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength ?? header.length), true);
  out.set(header, 8);
  return out;
}

/** `n` levels of nested empty lists as a safetensors metadata value. */
const nestedJson = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;

/** A folder in ImageFolder layout whose two classes hold one good image each and every kind of bad file. */
function hostileFolder(dir: string): void {
  for (const c of ['a', 'b']) {
    mkdirSync(join(dir, c), { recursive: true });
    writeFileSync(join(dir, c, 'good.png'), png(64, 64));
  }
  symlinkSync('.', join(dir, 'a', 'loop'));
  symlinkSync('/dev/zero', join(dir, 'a', 'zero.png'));
  writeFileSync(join(dir, 'b', 'tall.png'), png(1, 5_000_000));
  writeFileSync(join(dir, 'b', 'scans.jpg'), jpegScans(30_000));
  writeFileSync(join(dir, 'b', 'text.jpg'), 'not an image');
}

/** A folder in ImageFolder layout whose every entry is unreadable: a FIFO, a link to /dev/zero, a link loop, text named .png. */
function unreadableFolder(dir: string): void {
  for (const c of ['a', 'b']) mkdirSync(join(dir, c), { recursive: true });
  if (spawnSync('mkfifo', [join(dir, 'a', 'fifo.png')]).status !== 0) throw new Error('mkfifo failed');
  symlinkSync('/dev/zero', join(dir, 'a', 'zero.png'));
  symlinkSync('loop.png', join(dir, 'b', 'loop.png'));
  writeFileSync(join(dir, 'b', 'text.png'), 'not an image');
}

const m = (name: string, role: AttackRole, error: RegExp | null, make: (path: string) => void, ext?: string): Attack => ({
  name,
  role,
  make,
  error,
  ext: ext ?? { checkpoint: '.pth', input: '.npy', image: '.png', config: '.json', folder: '' }[role],
});
const file = (bytes: () => Uint8Array | string) => (path: string) => writeFileSync(path, bytes());

/** The corpus. FIFOs are made by the test itself (`mkfifo`), where the platform has them. */
export function attacks(): Attack[] {
  const budget = (what: string) => new RegExp(`exceeds the limit of \\d+ ${what}`);
  return [
    // Pickle floods: every opcode is cheap, so the count itself is the attack.
    m(
      '30M MARKs',
      'checkpoint',
      budget('open MARKs'),
      file(() => pickleFile(flood([0x28], 30_000_000))),
    ),
    m(
      'a list grown by APPENDS to 25M items',
      'checkpoint',
      budget('opcodes'),
      file(() => pickleFile(bigList(25_000_000))),
    ),
    m(
      'a stack of 2M values',
      'checkpoint',
      budget('values on the stack'),
      file(() => pickleFile(flood([0x4e], 2_000_000))),
    ),
    m(
      '2M memoised values',
      'checkpoint',
      budget('memoised values'),
      file(() => pickleFile(flood([0x4e, 0x94, 0x30], 2_000_000))),
    ),
    m(
      'a dict of 10M entries',
      'checkpoint',
      budget('opcodes'),
      file(() => pickleFile(flood([0x4b, 1, 0x4e, 0x73], 10_000_000, [0x7d]))),
    ),
    // Amplification: a small memoised value copied by calls and instantiations.
    m(
      'a 4M list copied 400 times by torch.Size',
      'checkpoint',
      budget('elements copied by calls'),
      file(() => pickleFile(cat(bigList(4_000_000), callMemo(g('torch', 'Size'), 400)))),
    ),
    m(
      'a 4M list copied 400 times by NEWOBJ',
      'checkpoint',
      budget('elements copied by calls'),
      file(() => pickleFile(cat(bigList(4_000_000), flood([...g('yacs.config', 'CfgNode'), 0x68, 0, 0x81, 0x30], 400)))),
    ),
    m(
      'torch.device of a billion laughs',
      'checkpoint',
      /torch\.device is called with a tuple; it takes a string/,
      file(() => laughs('torch', 'device', 9, 10)),
    ),
    m(
      '_codecs.encode of a billion laughs',
      'checkpoint',
      /_codecs\.encode is called with a tuple; it takes a string/,
      file(() => laughs('_codecs', 'encode', 9, 10)),
    ),
    m(
      'numpy.dtype of a billion laughs',
      'checkpoint',
      /numpy\.dtype is called with a tuple; it takes a string/,
      file(() => laughs('numpy', 'dtype', 9, 10)),
    ),
    m(
      'REDUCE copying a 1M tuple 20,000 times',
      'checkpoint',
      budget('elements copied by calls'),
      file(() => pickleFile(cat(bigTuple(1_000_000), callMemo(g('collections', 'OrderedDict'), 20_000, false)))),
    ),
    m(
      'one tensor under 3M names',
      'checkpoint',
      /holds 3000000 entries, more than the 1000000 tensors/,
      file(() => {
        const t = new TorchSaver();
        const key = t.storage('float32', [1]);
        const p = new PickleBytes().op(...PROTO2, 0x7d);
        p.b.push(...g('torch._utils', '_rebuild_tensor_v2'), 0x28);
        p.op(0x28).unicode('storage').global('torch', 'FloatStorage').unicode(key).unicode('cpu').int(1).op(0x74, 0x51);
        p.int(0).op(0x29, 0x29, 0x89);
        p.global('collections', 'OrderedDict').op(0x29, 0x52, 0x74, 0x52, 0x71, 1, 0x30);
        const entries = new Uint8Array(3_000_000 * 8);
        for (let i = 0; i < 3_000_000; i++) entries.set([0x4a, i & 0xff, (i >> 8) & 0xff, (i >> 16) & 0xff, 0, 0x68, 1, 0x73], i * 8);
        return t.save(null, { pickle: cat(Uint8Array.from(p.b), entries, [STOP]), deflate: true });
      }),
    ),
    // Self-reference: a list that contains itself handed to a rebuild function, and as a dict key.
    m(
      '_rebuild_from_type_v2 given itself',
      'checkpoint',
      /rebuilt through a function flatten-vit does not run/,
      file(() => {
        // L = [rb, None, L, {}]; rb(rb, None, L, {}) would call rb(*L) for ever.
        const rb = g('torch._tensor', '_rebuild_from_type_v2');
        return pickleFile(
          cat(
            [0x5d, 0x71, 0],
            rb,
            [0x71, 1, 0x61, 0x4e, 0x61, 0x68, 0, 0x61, 0x7d, 0x61, 0x30],
            [0x68, 1, 0x28, 0x68, 1, 0x4e, 0x68, 0, 0x7d, 0x74, 0x52],
          ),
        );
      }),
    ),
    m(
      'a key nested 300,000 deep',
      'checkpoint',
      /holds no state dict/,
      file(() => pickleFile(cat([0x7d, 0x4e], flood([0x85], 300_000), [0x4e, 0x73]))),
    ),
    m(
      'a 1.5 MB LONG4',
      'checkpoint',
      budget('bytes in one integer'),
      file(() => {
        const n = 1_500_000;
        return pickleFile(cat([0x8b, n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, 0], new Uint8Array(n).fill(0x7f)));
      }),
    ),
    m(
      'a 1 MB text INT',
      'checkpoint',
      budget('bytes in one integer'),
      file(() => pickleFile(cat([0x49], new Uint8Array(1_000_000).fill(0x39), [0x0a]))),
    ),
    // Names meant for the terminal, and names meant to fill it.
    m(
      'control characters in a global name',
      'checkpoint',
      /asks to call os\.sys\\x1b\[2J\\x07\\x0dtem, which/,
      file(() => pickleFile(cat(g('os', 'sys\x1b[2J\x07\rtem'), [0x29, 0x52]))),
    ),
    m(
      'a 3 MB global name',
      'checkpoint',
      /characters left out\) … .*so this is not a plain checkpoint \(at byte \d+ of the pickle\)$/,
      file(() => pickleFile(cat(g('os', 'x'.repeat(3_000_000)), [0x29, 0x52]))),
    ),
    // Storages: names that are not types, lying sizes, bombs.
    m(
      'storage class __proto__',
      'checkpoint',
      /storage type __proto__ is not supported/,
      file(() => storageClassFile('__proto__')),
    ),
    m(
      'storage class hasOwnProperty',
      'checkpoint',
      /storage type hasOwnProperty is not supported/,
      file(() => storageClassFile('hasOwnProperty')),
    ),
    m(
      'three 200 MiB deflated storages in rotation',
      'checkpoint',
      /compressed storages inflate to more than 536870912 bytes/,
      file(() => rotatingDeflatedStorages(200)),
    ),
    m(
      'a data.pkl that declares 300 MiB',
      'checkpoint',
      /declares 314572800 bytes, more than the 268435456/,
      file(() => zipWithCentral((dv, at) => dv.setUint32(at + 24, 300 * 2 ** 20, true))),
    ),
    // Zip records that lie.
    m(
      'a CRC-32 that does not match',
      'checkpoint',
      /fails its CRC-32 check/,
      file(() => zipWithCentral((dv, at) => dv.setUint32(at + 16, dv.getUint32(at + 16, true) ^ 1, true))),
    ),
    m(
      'a ZIP64 field longer than the record',
      'checkpoint',
      /extra field of archive\/data\.pkl runs past its end|ZIP64 field of archive\/data\.pkl is damaged/,
      file(() => {
        const extra = new Uint8Array(12);
        new DataView(extra.buffer).setUint16(0, 1, true);
        new DataView(extra.buffer).setUint16(2, 2000, true);
        return zipWithCentral((dv, at) => dv.setUint32(at + 24, 0xffffffff, true), extra);
      }),
    ),
    // safetensors headers.
    m(
      'a valid safetensors file with a 99 MB metadata header',
      'checkpoint',
      null,
      file(() => encodeSafetensors(pvtMiniTensors(), { notes: 'x'.repeat(99_000_000) })),
      '.safetensors',
    ),
    m(
      'a safetensors header one byte over the format limit',
      'checkpoint',
      /HeaderTooLarge: its header length 100000001 is above the format's limit of 100000000 bytes/,
      file(() => safetensors('{}', 100_000_001)),
      '.safetensors',
    ),
    m(
      'a safetensors header of 20 million tiny values',
      'checkpoint',
      /header holds more than 10000000 JSON values/,
      file(() => safetensors(`{"__metadata__":{"a":[${'0,'.repeat(20_000_000)}0]}}`)),
      '.safetensors',
    ),
    m(
      'safetensors metadata nested 5M deep',
      'checkpoint',
      /header nests deeper than 8 levels/,
      (path) => {
        writeFileSync(path, safetensors(`{"__metadata__": ${nestedJson(5_000_000)}}`));
      },
      '.safetensors',
    ),
    m(
      'safetensors dtype __proto__',
      'checkpoint',
      /unsupported dtype __proto__/,
      (path) => {
        writeFileSync(path, safetensors(JSON.stringify({ w: { dtype: '__proto__', shape: [4], data_offsets: [0, 16] } }).padEnd(64)));
      },
      '.safetensors',
    ),
    // .npy inputs.
    m(
      'a .npy shape of hex and floats',
      'input',
      /not a plain decimal integer/,
      file(() => npyHeader('<f4', '(0x1, 3, 0x40, 64.0)')),
    ),
    m(
      'a .npy header built to make a regex backtrack',
      'input',
      /not a plain decimal integer at character 30067/,
      file(() => npyHeader('<f4', `(${'1,'.repeat(8)}${' '.repeat(30_000)}x)`)),
    ),
    m('a 1 GiB uint8 .npy of the wrong shape', 'input', /expected \(B, 3, 64, 64\) float32 .*found \(1, 3, 32768, 10922\)/, (path) =>
      sparse(path, npyHeader('|u1', '(1, 3, 32768, 10922)'), 3 * 32768 * 10922),
    ),
    m('a 4,000-image batch', 'input', null, (path) => sparse(path, npyHeader('<f4', '(4000, 3, 64, 64)'), 4000 * 3 * 64 * 64 * 4)),
    // Images.
    m(
      'a JPEG with 30,000 empty scans',
      'image',
      /has more than 1000 scans/,
      file(() => jpegScans(30_000)),
      '.jpg',
    ),
    m(
      'a 65535x1365 JPEG with 5,000 empty scans',
      'image',
      /has more than 1000 scans/,
      file(() => jpegPasses(65535, 1365, 5000, true)),
      '.jpg',
    ),
    m(
      'a 65535x1365 JPEG whose 200 scans each skip every block in 90 bytes',
      'image',
      /its scans would decode more than 100 times the frame's 1400832 blocks/,
      file(() => jpegPasses(65535, 1365, 200, false)),
      '.jpg',
    ),
    m(
      'a 1 x 5,000,000 PNG',
      'image',
      /resizing 1x5000000 to 256x256 passes through 1280000000 pixels/,
      file(() => png(1, 5_000_000)),
    ),
    m(
      'a 5,000,000 x 1 PNG',
      'image',
      null,
      file(() => png(5_000_000, 1)),
    ),
    m('an image that is a link to /dev/zero', 'image', /is not a regular file/, (path) => symlinkSync('/dev/zero', path)),
    // Configurations.
    m(
      'a config 100,000 blocks deep',
      'config',
      /needs more than 200000 graph nodes/,
      file(() => JSON.stringify({ family: 'swin', args: { embed_dim: 12, num_heads: [1, 1, 1, 1], depths: [2, 2, 100_000, 2] } })),
    ),
    m(
      'a config of 10^11 parameters',
      'config',
      /declares more than 1073741824 parameters/,
      file(() => JSON.stringify({ family: 'swin', args: { embed_dim: 96_000, num_heads: [3, 6, 12, 24] } })),
    ),
    m(
      'a config family __proto__',
      'config',
      /unknown family '__proto__'/,
      file(() => JSON.stringify({ family: '__proto__', args: {} })),
    ),
    m(
      'a config argument constructor',
      'config',
      /unknown argument 'constructor'/,
      file(() => JSON.stringify({ family: 'deit', args: { constructor: 1 } })),
    ),
    // Folders.
    m('a folder of loops, devices and bombs', 'folder', null, hostileFolder),
    m('a folder with no readable image', 'folder', /no readable image among its \d+ file\(s\)/, unreadableFolder),
  ];
}
