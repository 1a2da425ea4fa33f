/**
 * Test helper: the hostile-file corpus, built in code. Each entry is a file, the command that reads
 * it, and what must happen. Pickles that would run a command try to create a marker file, whose
 * absence afterwards shows that nothing ran.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { openCheckpoint } from '../../src/checkpoint/open.js';
import { encodeNpy } from '../../src/io/npy.js';
import { fixture } from '../helpers/fixtures.js';
import { Instance, OrderedDict, PickleBytes, TensorSpec, TorchSaver } from '../helpers/torch_save.js';

export interface HostileFile {
  name: string;
  file: string;
  bytes: () => Uint8Array;
  /** `checkpoint` files go through predict, `image` through preprocess, `input` as predict's --input. */
  role: 'checkpoint' | 'image' | 'input';
  /** What the single stderr line must say; null when the file must work. */
  error: RegExp | null;
}

const pickleRoot = (body: number[]) => Uint8Array.from([0x80, 2, ...body, 0x2e]);

function evilPickle(module: string, name: string, marker: string): Uint8Array {
  const p = new PickleBytes();
  p.global(module, name)
    .unicode(module === 'builtins' ? `__import__('os').system('touch ${marker}')` : `touch ${marker}`)
    .op(0x85, 0x52);
  return new TorchSaver().save(null, { pickle: pickleRoot(p.b) });
}

/**
 * pvt_mini's checkpoint with head.weight stored as a view into a deflated storage that declares 1 GiB
 * (its central directory says 1 GiB; the deflate stream holds 4 MiB of zeros).
 */
function storageBomb(): Uint8Array {
  const src = openCheckpoint(fixture('pvt_mini', 'checkpoint.pth'));
  const t = new TorchSaver();
  const entries: [string, TensorSpec][] = [];
  let bombKey = '';
  for (const [k, lazy] of src.tensors) {
    if (k === 'head.weight') {
      bombKey = t.rawStorage('float32', new Uint8Array(4 << 20), 2 ** 28);
      entries.push([k, new TensorSpec(bombKey, [...lazy.shape], [lazy.shape[1], 1])]);
    } else entries.push([k, t.tensor('float32', [...lazy.shape], lazy.read())]);
  }
  src.close();
  const z = t.save(new Map([['model', new OrderedDict(entries)]]), { deflate: true });
  const dv = new DataView(z.buffer);
  const name = new TextEncoder().encode(`archive/data/${bombKey}`);
  for (let p = 0; p + 46 + name.length < z.length; p++) {
    if (dv.getUint32(p, true) === 0x02014b50 && name.every((c, i) => z[p + 46 + i] === c) && dv.getUint16(p + 28, true) === name.length)
      dv.setUint32(p + 24, 2 ** 30, true);
  }
  return z;
}

export function hostileCorpus(dir: string): HostileFile[] {
  const marker = (n: string) => join(dir, `pwned-${n}`);
  const t = new TorchSaver();
  const s3 = t.storage('float32', [1, 2, 3]);
  const mk = (
    name: string,
    role: HostileFile['role'],
    error: RegExp | null,
    bytes: () => Uint8Array,
    ext = role === 'image' ? '.png' : role === 'input' ? '.npy' : '.pth',
  ): HostileFile => ({
    name,
    file: join(dir, `${name.replace(/\W+/g, '_')}${ext}`),
    bytes,
    role,
    error,
  });
  const nanCheckpoint = () => {
    const src = openCheckpoint(fixture('pvt_mini', 'checkpoint.pth'));
    const out = new TorchSaver();
    const entries: [string, TensorSpec][] = [];
    for (const [k, lazy] of src.tensors) {
      const v = lazy.read();
      if (k === 'head.weight') v.set([NaN, Infinity, -Infinity]);
      entries.push([k, out.tensor('float32', [...lazy.shape], v)]);
    }
    src.close();
    return out.save(new Map([['model', new OrderedDict(entries)]]));
  };
  return [
    mk('os.system', 'checkpoint', /asks to call os\.system, which flatten-vit never runs/, () => evilPickle('os', 'system', marker('os'))),
    mk('posix.system', 'checkpoint', /asks to call posix\.system/, () => evilPickle('posix', 'system', marker('posix'))),
    mk('builtins.eval', 'checkpoint', /asks to call builtins\.eval/, () => evilPickle('builtins', 'eval', marker('eval'))),
    mk('subprocess.call', 'checkpoint', /asks to call subprocess\.call/, () => evilPickle('subprocess', 'call', marker('subprocess'))),
    mk('INST os.system', 'checkpoint', /asks to call os\.system/, () =>
      new TorchSaver().save(null, {
        pickle: Uint8Array.from([...new TextEncoder().encode(`(S'touch ${marker('inst')}'\nios\nsystem\n.`)]),
      }),
    ),
    mk('OBJ subprocess.Popen', 'checkpoint', /asks to call subprocess\.Popen/, () =>
      new TorchSaver().save(null, { pickle: pickleRoot([0x28, ...new PickleBytes().global('subprocess', 'Popen').unicode('ls').b, 0x6f]) }),
    ),
    mk('NEWOBJ of a dangerous class', 'checkpoint', /stores a whole pickled subprocess\.Popen object, not a state dict/, () =>
      new TorchSaver().save(new Instance('subprocess', 'Popen', [['args', 'ls']])),
    ),
    mk('BUILD on a class', 'checkpoint', /BUILD on a class/, () =>
      new TorchSaver().save(null, { pickle: pickleRoot([...new PickleBytes().global('os', 'system').b, 0x7d, 0x62]) }),
    ),
    mk('200,000-deep nesting', 'checkpoint', /holds no state dict/, () => {
      const depth = 200_000;
      const b = new Uint8Array(2 + 2 * depth);
      b.set([0x80, 2]);
      b.fill(0x5d, 2, 2 + depth);
      b.fill(0x61, 2 + depth, 1 + 2 * depth);
      b[1 + 2 * depth] = 0x2e;
      return new TorchSaver().save(null, { pickle: b });
    }),
    mk('memo reference out of range', 'checkpoint', /memo reference 200 is out of range/, () =>
      new TorchSaver().save(null, { pickle: pickleRoot([0x68, 200]) }),
    ),
    mk('unknown opcode', 'checkpoint', /unknown pickle opcode 0xfe/, () => new TorchSaver().save(null, { pickle: pickleRoot([0xfe]) })),
    mk('storage inflating to a gigabyte', 'checkpoint', /compressed storages inflate to more than 536870912 bytes/, storageBomb),
    mk('tensor larger than its storage', 'checkpoint', /extends to element 3 of a storage of 3 elements/, () =>
      t.save(new OrderedDict([['w', new TensorSpec(s3, [4], [1])]])),
    ),
    mk('negative stride', 'checkpoint', /negative size, stride or offset/, () =>
      t.save(new OrderedDict([['w', new TensorSpec(s3, [3], [-1], 2)]])),
    ),
    mk('overflowing stride', 'checkpoint', /stride is not a list of integers/, () =>
      t.save(new OrderedDict([['w', new TensorSpec(s3, [2], [2 ** 62])]])),
    ),
    mk('negative offset', 'checkpoint', /negative size, stride or offset/, () =>
      t.save(new OrderedDict([['w', new TensorSpec(s3, [1], [1], -5)]])),
    ),
    mk('shape of 2^40 elements', 'checkpoint', /declares 1099511627776 elements/, () =>
      t.save(new OrderedDict([['w', new TensorSpec(s3, [2 ** 20, 2 ** 20], [0, 0])]])),
    ),
    mk('checkpoint of another architecture', 'checkpoint', /does not fit this pvt configuration/, () =>
      readFileSync(fixture('pvt_v2_mini', 'checkpoint.pth')),
    ),
    mk('NaN and Inf weights', 'checkpoint', null, nanCheckpoint),
    mk('a text file named .png', 'image', /is not an image; expected a PNG or JPEG file/, () =>
      new TextEncoder().encode('this is not a picture\n'),
    ),
    mk('PNG declaring 30000x30000', 'image', /30000x30000 is larger than the 89478485 pixels allowed/, () => {
      const p = new PNG({ width: 1, height: 1 });
      const b = PNG.sync.write(p);
      b.writeUInt32BE(30000, 16);
      b.writeUInt32BE(30000, 20);
      return b;
    }),
    mk(
      'truncated JPEG',
      'image',
      /cannot decode JPEG: the file is truncated/,
      () => readFileSync(fixture('images', 'rocket.jpg')).subarray(0, 30_000),
      '.jpg',
    ),
    mk('1x1 image', 'image', null, () => {
      const p = new PNG({ width: 1, height: 1 });
      p.data.set([10, 20, 30, 255]);
      return PNG.sync.write(p);
    }),
    mk(
      '.npy claiming more data than it holds',
      'input',
      /header declares \(9, 3, 64, 64\) <f4 \(442368 bytes of data\) but the file holds 49152/,
      () => {
        const good = encodeNpy({ shape: [1, 3, 64, 64], data: new Float32Array(3 * 64 * 64) });
        const at = Buffer.from(good).indexOf('(1, 3, 64, 64)');
        good.set(new TextEncoder().encode('(9, 3, 64, 64)'), at);
        return good;
      },
    ),
  ];
}
