/**
 * Fuzz targets: every reader of untrusted input, each with small valid seed inputs to mutate. A case
 * passes when the reader returns a result or throws a FlattenError; anything else is a crash.
 */
import type fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { openCheckpoint } from '../../src/checkpoint/open.js';
import { unpickle } from '../../src/checkpoint/pickle.js';
import { torchPickleHooks } from '../../src/checkpoint/torch.js';
import { encodeSafetensors } from '../../src/checkpoint/safetensors.js';
import { MemorySource } from '../../src/checkpoint/source.js';
import { ZipArchive } from '../../src/checkpoint/zip.js';
import { decodeNpy, encodeNpy } from '../../src/io/npy.js';
import { decodeImage } from '../../src/preprocess/decode.js';
import { evalTransform } from '../../src/preprocess/transform.js';
import { ASSETS } from '../helpers/assets.js';
import { OrderedDict, PyFloat, TensorSpec, TorchSaver } from '../helpers/torch_save.js';
import { writeZip } from '../helpers/zip_writer.js';
import { npyFiles, pickleStreams, tensorViews } from './generators.js';

/** A reader under test. */
export interface FuzzTarget {
  name: string;
  seeds: Uint8Array[];
  /** Structure-aware inputs, mixed with the mutations of the seeds. */
  generate?: fc.Arbitrary<Uint8Array>;
  run(input: Uint8Array): void;
}

/** Largest image the fuzzed decoders may produce (keeps each case fast). */
const MAX_PIXELS = 1 << 20;

function checkpointSeeds(): Uint8Array[] {
  const a = new TorchSaver();
  const s = a.storage('float32', [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  const root = new Map<string, unknown>([
    [
      'model',
      new OrderedDict([
        ['w', new TensorSpec(s, [3, 4], [4, 1])],
        ['wT', new TensorSpec(s, [4, 3], [1, 4])],
        ['b', new TensorSpec(s, [4], [1], 4)],
        ['h', a.tensor('float16', [2, 2], [1, -2, 3.5, 0.25])],
        ['i', a.tensor('int64', [2], [7, -9])],
      ]),
    ],
    ['epoch', 3],
    ['max_accuracy', new PyFloat(81.5)],
  ]);
  const b = new TorchSaver();
  const bare = new OrderedDict([['x', b.tensor('bfloat16', [3], [1, 2, 3])]]);
  return [a.save(root as never), a.save(root as never, { deflate: true, zip64: true, prefix: 'x' }), b.save(bare)];
}

function pickleSeeds(): Uint8Array[] {
  const t = new TorchSaver();
  return [
    t.pickle(new OrderedDict([['w', t.tensor('float32', [2], [1, 2])]])),
    t.pickle(new Map<string, unknown>([['a', [1, 2.5, 'x', null, true]]]) as never),
    Uint8Array.from([0x80, 4, 0x95, 14, 0, 0, 0, 0, 0, 0, 0, 0x8c, 1, 0x61, 0x94, 0x8c, 1, 0x62, 0x94, 0x86, 0x94, 0x68, 0, 0x86, 0x2e]),
  ];
}

function imageSeeds(ext: string): Uint8Array[] {
  return readdirSync(ASSETS)
    .filter((f) => f.endsWith(ext))
    .map((f) => new Uint8Array(readFileSync(join(ASSETS, f))));
}

export const TARGETS: FuzzTarget[] = [
  {
    name: 'zip',
    seeds: [
      writeZip([{ name: 'a/b', data: Uint8Array.from([1, 2, 3]) }]),
      writeZip([{ name: 'x', data: new Uint8Array(300) }], { deflate: true, zip64: true }),
    ],
    run: (b) => {
      const z = new ZipArchive(new MemorySource(b, 'fuzz.zip'));
      for (const e of z.entries.values()) z.read(e, 1 << 20);
    },
  },
  {
    name: 'pickle',
    seeds: pickleSeeds(),
    generate: pickleStreams,
    run: (b) => {
      unpickle(b, 'fuzz.pkl', torchPickleHooks('fuzz.pkl'));
    },
  },
  {
    name: 'torch checkpoint',
    seeds: checkpointSeeds(),
    generate: tensorViews,
    run: (b) => {
      const sd = openCheckpoint(b, { name: 'fuzz.pth' });
      for (const t of sd.tensors.values()) t.read();
    },
  },
  {
    name: 'safetensors',
    seeds: [
      encodeSafetensors(
        new Map([
          ['a', { shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) }],
          ['b', { shape: [1], data: new Float32Array([5]) }],
        ]),
        { arch: 'x' },
      ),
    ],
    run: (b) => {
      const sd = openCheckpoint(b, { name: 'fuzz.safetensors' });
      for (const t of sd.tensors.values()) t.read();
    },
  },
  {
    name: 'npy',
    seeds: [
      encodeNpy({ shape: [2, 3], data: new Float32Array(6).fill(1.5) }),
      encodeNpy({ shape: [1, 3, 2, 2], data: new Float32Array(12) }),
    ],
    generate: npyFiles,
    run: (b) => {
      decodeNpy(b, 'fuzz.npy');
    },
  },
  {
    name: 'png',
    seeds: imageSeeds('.png'),
    run: (b) => {
      decodeImage(b, 'fuzz.png', { maxPixels: MAX_PIXELS });
    },
  },
  {
    name: 'jpeg',
    seeds: imageSeeds('.jpg'),
    run: (b) => {
      decodeImage(b, 'fuzz.jpg', { maxPixels: MAX_PIXELS, exifOrientation: true });
    },
  },
  {
    name: 'preprocess',
    seeds: (() => {
      const p = new PNG({ width: 5, height: 3 });
      p.data.fill(128);
      return [new Uint8Array(PNG.sync.write(p)), ...imageSeeds('j420.jpg')];
    })(),
    run: (b) => {
      const img = decodeImage(b, 'fuzz.img', { maxPixels: MAX_PIXELS });
      const size = 1 + (b.length % 48);
      const x = evalTransform(img, { size, crop: b.length % 2 === 0 });
      if (x.data.length !== 3 * size * size || x.data.some((v) => !Number.isFinite(v)))
        throw new Error('preprocessing produced a wrong tensor');
    },
  },
];
