import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeNpy, readNpy } from '../../src/io/npy.js';
import { cli, expectCleanFailure } from '../helpers/cli.js';
import { fixture, maxDiff } from '../helpers/fixtures.js';
import { writeZip } from '../helpers/zip_writer.js';
import { OrderedDict, PickleBytes, Raw, TensorSpec, TorchSaver } from '../helpers/torch_save.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'flatten-predict-'));
});

const base = (ckpt: string, input = fixture('pvt_mini', 'input.npy')) => [
  'predict',
  '--arch',
  fixture('pvt_mini', 'config.json'),
  '--checkpoint',
  ckpt,
  '--input',
  input,
];

describe('flatten-vit predict', () => {
  it('writes logits, features and stage outputs laid out like the fixtures', () => {
    const out = join(dir, 'ok');
    const r = cli([
      ...base(fixture('pvt_mini', 'checkpoint.pth')),
      '--save-logits',
      `${out}-logits.npy`,
      '--save-features',
      `${out}-features.npy`,
      '--save-stages',
      `${out}-stages`,
      '--threads',
      '1',
    ]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const logits = maxDiff(readNpy(`${out}-logits.npy`).data, readNpy(fixture('pvt_mini', 'logits.npy')).data);
    console.log(`[conformance] predict CLI pvt_mini: logits max|diff| ${logits.max.toExponential(2)}`);
    expect(logits.max).toBeLessThan(1e-5);
    expect(maxDiff(readNpy(`${out}-features.npy`).data, readNpy(fixture('pvt_mini', 'features.npy')).data).max).toBeLessThan(1e-5);
    for (let i = 1; i <= 4; i++)
      expect(readNpy(join(`${out}-stages`, `stage${i}.npy`)).shape).toEqual(readNpy(fixture('pvt_mini', `stage${i}.npy`)).shape);
  });

  const t = new TorchSaver();
  const w = t.storage('float32', [1, 2, 3]);
  const cases: [string, () => Uint8Array, RegExp][] = [
    ['a text file', () => new TextEncoder().encode('just text\n'), /is not a checkpoint: expected a \.pth/],
    [
      'a zip without data.pkl',
      () => writeZip([{ name: 'a/readme.txt', data: new Uint8Array(3) }]),
      /holds no data\.pkl; expected a torch\.save checkpoint/,
    ],
    ['a zip whose data.pkl is not a pickle', () => new TorchSaver().save(null, { pickle: new TextEncoder().encode('hello') }), /pickle/],
    [
      'a pickle that asks for os.system',
      () =>
        new TorchSaver().save(
          new Map([['model', new Raw(new PickleBytes().global('os', 'system').unicode('touch /tmp/pwned').op(0x85, 0x52).b)]]),
        ),
      /os\.system, which flatten-vit never runs/,
    ],
    [
      'a tensor larger than its storage',
      () => t.save(new OrderedDict([['w', new TensorSpec(w, [4], [1])]])),
      /extends to element 3 of a storage of 3/,
    ],
    ['a truncated checkpoint', () => new Uint8Array(readFileSync(fixture('pvt_mini', 'checkpoint.pth'))).subarray(0, 500_000), /truncated/],
  ];

  it.each(cases)('fails on %s with one line and writes nothing', (_, make, message) => {
    const ckpt = join(dir, `bad-${Math.random().toString(36).slice(2)}.pth`);
    writeFileSync(ckpt, make());
    const out = `${ckpt}.logits.npy`;
    const line = expectCleanFailure(cli([...base(ckpt), '--save-logits', out]));
    expect(line).toMatch(message);
    expect(line).toContain(ckpt);
    expect(existsSync(out)).toBe(false);
  });

  it('fails on a checkpoint of another architecture, listing what does not fit', () => {
    const out = join(dir, 'other.npy');
    const line = expectCleanFailure(cli([...base(fixture('pvt_v2_mini', 'checkpoint.pth')), '--save-logits', out]));
    expect(line).toMatch(
      /does not fit this pvt configuration: .*missing key\(s\): .*pos_embed1 \(1, 256, 16\).*unexpected key\(s\): .*dwconv.* vs model \(64, 40, 2, 2\); check --arch/,
    );
    expect(existsSync(out)).toBe(false);
  });

  it('fails on an .npy whose header lies, and on a wrongly shaped input', () => {
    const good = encodeNpy({ shape: [1, 3, 64, 64], data: new Float32Array(3 * 64 * 64) });
    const lying = good.slice();
    lying.set(new TextEncoder().encode('(9, 3, 64, 64)'), Buffer.from(good).indexOf('(1, 3, 64, 64)'));
    const bad = join(dir, 'lying.npy');
    writeFileSync(bad, lying);
    const out = join(dir, 'lying-out.npy');
    expect(expectCleanFailure(cli([...base(fixture('pvt_mini', 'checkpoint.pth'), bad), '--save-logits', out]))).toMatch(
      /lying\.npy: is not a valid \.npy file: header declares/,
    );
    const small = join(dir, 'small.npy');
    writeFileSync(small, encodeNpy({ shape: [1, 3, 32, 32], data: new Float32Array(3 * 32 * 32) }));
    expect(expectCleanFailure(cli([...base(fixture('pvt_mini', 'checkpoint.pth'), small), '--save-logits', out]))).toMatch(
      /small\.npy: expected \(B, 3, 64, 64\) float32 .*found \(1, 3, 32, 32\)/,
    );
    expect(existsSync(out)).toBe(false);
  });

  it('refuses to overwrite an input and reports usage errors with exit status 2', () => {
    const r = cli([...base(fixture('pvt_mini', 'checkpoint.pth')), '--save-logits', fixture('pvt_mini', 'input.npy')]);
    expect(expectCleanFailure(r)).toMatch(/would overwrite an input file/);
    const u = cli(['predict', '--arch', 'flatten_pvt_t']);
    expect(u.status).toBe(2);
    expect(expectCleanFailure(u)).toMatch(/--checkpoint is required/);
    expect(expectCleanFailure(cli(['predict', '--bogus']))).toMatch(/Unknown option '--bogus'/);
  });
  it('explains an execution provider that is not there in one line', () => {
    const out = join(dir, 'ep.npy');
    const cuda = expectCleanFailure(cli([...base(fixture('pvt_mini', 'checkpoint.pth')), '--save-logits', out, '--ep', 'cuda']));
    expect(cuda).toMatch(
      /--ep cuda: onnxruntime(-node was installed without its cuda provider| could not start its cuda provider).*CUDA 12/,
    );
    const bogus = expectCleanFailure(cli([...base(fixture('pvt_mini', 'checkpoint.pth')), '--save-logits', out, '--ep', 'bogus']));
    expect(bogus).toMatch(/--ep bogus: onnxruntime-node on this platform offers cpu/);
    expect(existsSync(out)).toBe(false);
  });
});
