import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openCheckpoint } from '../../src/checkpoint/open.js';
import { PyOrderedDict, PyTensor } from '../../src/checkpoint/pickle_writer.js';
import { saveTorch } from '../../src/checkpoint/torch_file.js';
import { encodeNpy, readNpy } from '../../src/io/npy.js';
import { cli, expectCleanFailure } from '../helpers/cli.js';
import { fixture, REPO } from '../helpers/fixtures.js';
import { makeImageFolder } from '../helpers/image_folder.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'flatten-train-cli-'));
});

const CASE = 'pvt_v2_mini';
/** The fixture's run on another folder of batches. */
const onBatches = (batches: string, extra: string[] = []) => [
  'train',
  '--arch',
  fixture(CASE, 'config.json'),
  '--cfg',
  fixture(CASE, 'train/recipe.yaml'),
  '--batches',
  batches,
  '--threads',
  '1',
  ...extra,
];
/** The fixture's run on its own batches. */
const base = (extra: string[]) => onBatches(fixture(CASE, 'train/steps'), extra);

describe('flatten-vit train', () => {
  it('runs the official loop: one JSON line per step, checkpoints every epoch that predict reads', () => {
    const out = join(dir, 'run');
    const r = cli(
      base([
        '--checkpoint',
        fixture(CASE, 'checkpoint.pth'),
        '--model-ema',
        '--model-ema-decay',
        '0.99',
        '--out',
        out,
        '--json',
        '--val-batches',
        fixture(CASE, 'train/steps'),
      ]),
    );
    expect(r.status, r.stderr).toBe(0);
    const ref = JSON.parse(readFileSync(fixture(CASE, 'train/reference.json'), 'utf8')) as { losses: number[]; lrs: number[] };
    const all = r.stdout
      .trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as {
            epoch: number;
            step: number;
            loss: number;
            lr: number;
            grad_norm: number;
            val_acc1?: number;
            val_acc5: number;
            val_loss: number;
          },
      );
    const lines = all.filter((l) => l.step !== undefined);
    const epochs = all.filter((l) => l.step === undefined);
    expect(epochs.map((e) => e.epoch)).toEqual([1, 2]);
    for (const e of epochs) {
      expect(e.val_acc1).toBeGreaterThanOrEqual(0);
      expect(e.val_acc5).toBeGreaterThanOrEqual(e.val_acc1!);
      expect(e.val_loss).toBeGreaterThan(0);
    }
    expect(lines.map((l) => [l.epoch, l.step])).toEqual([1, 2].flatMap((e) => [1, 2, 3, 4].map((s) => [e, s])));
    lines.forEach((l, i) => {
      expect(Math.abs(l.loss / ref.losses[i] - 1)).toBeLessThan(1e-5);
      expect(Math.abs(l.lr / ref.lrs[i] - 1)).toBeLessThan(1e-6);
      expect(l.grad_norm).toBeGreaterThan(0);
    });
    expect(readdirSync(out).sort()).toEqual([
      'ckpt_epoch_1.pth',
      'ckpt_epoch_2.pth',
      'curves.svg',
      'last.pth',
      'log.txt',
      'max_acc.pth',
      'metrics.jsonl',
    ]);
    const svg = readFileSync(join(out, 'curves.svg'), 'utf8');
    for (const text of ['<svg', 'train loss', 'val loss', 'learning rate', 'val acc@1', 'epoch']) expect(svg).toContain(text);
    const logits = join(dir, 'logits.npy');
    const p = cli([
      'predict',
      '--arch',
      fixture(CASE, 'config.json'),
      '--checkpoint',
      join(out, 'last.pth'),
      '--ema',
      '--input',
      fixture(CASE, 'input.npy'),
      '--save-logits',
      logits,
    ]);
    expect(p.status, p.stderr).toBe(0);
    expect(readNpy(logits).shape).toEqual([readNpy(fixture(CASE, 'input.npy')).shape[0], 10]);
  }, 120_000);

  it('refuses to overwrite another run, and continues one with --resume', () => {
    const out = join(dir, 'run');
    const again = expectCleanFailure(cli(base(['--out', out])));
    expect(again).toMatch(/already holds a run's checkpoints.*--resume/);
    const r = cli(base(['--resume', join(out, 'ckpt_epoch_1.pth'), '--model-ema', '--model-ema-decay', '0.99', '--out', out, '--json']));
    expect(r.status, r.stderr).toBe(0);
    expect(
      r.stdout
        .trim()
        .split('\n')
        .filter((l) => l.includes('"step"')),
    ).toHaveLength(4);
  }, 120_000);

  const badYaml = () => {
    const f = join(dir, 'bad.yaml');
    writeFileSync(f, 'TRAIN:\n  EPOCHS: [1, 2\n');
    return f;
  };
  const unknownKey = () => {
    const f = join(dir, 'unknown.yaml');
    writeFileSync(f, 'TRAIN:\n  EPOCH: 3\n');
    return f;
  };
  const batchDir = (
    name: string,
    edit: (x: { shape: readonly number[]; data: Float32Array }, y: { shape: readonly number[]; data: Float32Array }) => void,
  ) => {
    const d = join(dir, name);
    mkdirSync(d, { recursive: true });
    const x: { shape: readonly number[]; data: Float32Array } = { ...readNpy(fixture(CASE, 'train/steps/batch0_x.npy')) };
    const y = readNpy(fixture(CASE, 'train/steps/batch0_y.npy'));
    edit(x, y);
    writeFileSync(join(d, 'batch0_x.npy'), encodeNpy(x));
    writeFileSync(join(d, 'batch0_y.npy'), encodeNpy(y));
    return d;
  };

  const failures: [string, () => string[], RegExp][] = [
    [
      'a config key that does not exist',
      () => ['train', '--arch', fixture(CASE, 'config.json'), '--cfg', unknownKey(), '--batches', fixture(CASE, 'train/steps')],
      /unknown\.yaml: unknown config key TRAIN\.EPOCH/,
    ],
    ['an --opts key that does not exist', () => base(['--opts', 'TRAIN.NOPE', '1']), /--opts: unknown config key TRAIN\.NOPE/],
    [
      'a YAML file that is not one',
      () => ['train', '--arch', fixture(CASE, 'config.json'), '--cfg', badYaml(), '--batches', fixture(CASE, 'train/steps')],
      /bad\.yaml: not a YAML file/,
    ],
    ['a value of the wrong type', () => base(['--opts', 'TRAIN.EPOCHS', 'many']), /TRAIN\.EPOCHS must be a number/],
    [
      'batches whose shape does not fit',
      () => onBatches(batchDir('small', (x) => (x.shape = [2, 3, 32, 128]))),
      /batch0_x\.npy: expected images of shape \(\d+, 3, 64, 64\) \(DATA\.BATCH_SIZE/,
    ],
    [
      'labels outside the classes',
      () => onBatches(batchDir('labels', (_, y) => (y.data[1] = 10))),
      /batch0_y\.npy: label 10 at position 1 is outside the model's 10 classes/,
    ],
    [
      'a resume checkpoint of another architecture',
      () => base(['--resume', fixture('swin_mini', 'train/epoch1.pth')]),
      /is for another architecture/,
    ],
    [
      'a resume checkpoint without optimizer state',
      () => {
        const f = join(dir, 'weights-only.pth');
        saveTorch(f, new Map([['model', new PyOrderedDict([['head.weight', new PyTensor('float32', [1], new Float32Array(1))]])]]));
        return base(['--resume', f]);
      },
      /has no optimizer state, so the run cannot be resumed; use --checkpoint/,
    ],
    [
      'an output folder that cannot be written',
      () => {
        const f = join(dir, 'a-file');
        writeFileSync(f, 'x');
        return base(['--out', join(f, 'sub')]);
      },
      /a-file\/sub: cannot write checkpoints there/,
    ],
  ];
  for (const [what, args, message] of failures) {
    it(`fails in one line on ${what}`, () => {
      expect(expectCleanFailure(cli(args()))).toMatch(message);
    }, 60_000);
  }
});

describe('stopping and resuming', () => {
  const args = (out: string, init: string[]) => [
    ...base([...init, '--json', '--out', out]),
    '--opts',
    'MODEL.DROP_PATH_RATE',
    '0.3',
    'AUG.MIXUP',
    '0.8',
    'AUG.CUTMIX',
    '1.0',
  ];
  const fresh = ['--checkpoint', fixture(CASE, 'checkpoint.pth')];
  const losses = (stdout: string) =>
    stdout
      .trim()
      .split('\n')
      .filter((l) => l.includes('"step"'))
      .map((l) => (JSON.parse(l) as { loss: number }).loss);

  it('Ctrl-C finishes the step, saves, exits 130; --resume continues exactly (stochastic depth and mixup included)', async () => {
    const whole = cli(args(join(dir, 'whole'), fresh));
    expect(whole.status, whole.stderr).toBe(0);
    const out = join(dir, 'interrupted');
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'src', 'cli', 'bin.ts'), ...args(out, fresh)], { cwd: REPO });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    await new Promise<void>((done) =>
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        if (stdout.includes('\n')) done();
      }),
    );
    child.kill('SIGINT');
    const status = await new Promise<number | null>((r) => child.once('exit', r));
    expect(status, stderr).toBe(130);
    expect(stderr).toMatch(/stopped; continue with --resume .*last\.pth/);
    const first = losses(stdout);
    expect(first.length).toBeLessThan(8);
    const rest = cli(args(out, ['--resume', join(out, 'last.pth')]));
    expect(rest.status, rest.stderr).toBe(0);
    const joined = [...first, ...losses(rest.stdout)];
    expect(joined).toEqual(losses(whole.stdout));
    expect(
      readFileSync(join(out, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .filter((l) => l.includes('"loss"')),
    ).toHaveLength(8);
  }, 180_000);

  it('stops on a loss that is not finite, in one line, writing nothing for that epoch', () => {
    const d = join(dir, 'nan-batches');
    mkdirSync(d, { recursive: true });
    for (const i of [0, 1]) {
      const x = readNpy(fixture(CASE, `train/steps/batch${i}_x.npy`));
      if (i === 1) x.data[5] = Number.NaN;
      writeFileSync(join(d, `batch${i}_x.npy`), encodeNpy(x));
      copyFileSync(fixture(CASE, `train/steps/batch${i}_y.npy`), join(d, `batch${i}_y.npy`));
    }
    const out = join(dir, 'nan-run');
    const line = expectCleanFailure(cli(onBatches(d, ['--out', out, '--json'])));
    expect(line).toMatch(/the loss became NaN at epoch 1, step 2 \(batch1_x\.npy\).*no checkpoint was written/);
    expect(existsSync(join(out, 'last.pth'))).toBe(false);
  }, 60_000);
});

describe('fine-tuning', () => {
  const labelsMod5 = () => {
    const d = join(dir, 'five-classes');
    mkdirSync(d, { recursive: true });
    for (const i of [0, 1, 2, 3]) {
      copyFileSync(fixture(CASE, `train/steps/batch${i}_x.npy`), join(d, `batch${i}_x.npy`));
      const y = readNpy(fixture(CASE, `train/steps/batch${i}_y.npy`));
      writeFileSync(join(d, `batch${i}_y.npy`), encodeNpy({ shape: y.shape, data: y.data.map((v) => v % 5) }));
    }
    return d;
  };
  const read = (file: string) => {
    const sd = openCheckpoint(file);
    const m = new Map([...sd.tensors].map(([k, t]) => [k, t.read()]));
    sd.close();
    return m;
  };

  it('re-initialises a head of another class count and trains only the head with --freeze backbone', () => {
    const out = join(dir, 'probe');
    const grads = join(dir, 'probe-grads.safetensors');
    const r = cli([
      'train',
      '--arch',
      fixture(CASE, 'config.json'),
      '--cfg',
      fixture(CASE, 'train/recipe.yaml'),
      '--batches',
      labelsMod5(),
      '--checkpoint',
      fixture(CASE, 'checkpoint.pth'),
      '--freeze',
      'backbone',
      '--out',
      out,
      '--save-grads',
      grads,
      '--opts',
      'MODEL.NUM_CLASSES',
      '5',
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/its head has 10 classes and the model 5; the head starts from zero/);
    expect([...read(grads).keys()].sort()).toEqual(['head.bias', 'head.weight']);
    const before = read(fixture(CASE, 'checkpoint.pth'));
    const after = read(join(out, 'last.pth'));
    for (const [k, v] of after) {
      if (k.startsWith('head.')) expect(v.some((x) => x !== 0)).toBe(true);
      else expect(v, k).toEqual(before.get(k));
    }
  }, 120_000);

  it('freezes stages 1-2 only', () => {
    const out = join(dir, 'stages');
    const r = cli(['train', ...base(['--checkpoint', fixture(CASE, 'checkpoint.pth'), '--freeze', 'stages:1-2', '--out', out]).slice(1)]);
    expect(r.status, r.stderr).toBe(0);
    const before = read(fixture(CASE, 'checkpoint.pth'));
    const after = read(join(out, 'last.pth'));
    for (const [k, v] of after) {
      const early = /^(patch_embed|block|norm)[12]\b/.test(k);
      if (early) expect(v, k).toEqual(before.get(k));
      else if (/^(block[34]|head)/.test(k))
        expect(
          v.some((x, i) => x !== before.get(k)![i]),
          k,
        ).toBe(true);
    }
    expect(expectCleanFailure(cli(['train', ...base(['--freeze', 'stages:2-9']).slice(1)]))).toMatch(
      /--freeze stages:2-9: this model has stages 1 to 4/,
    );
  }, 120_000);
});

describe('checkpoint saving', () => {
  it('leaves the previous checkpoint intact when the save is killed', async () => {
    const path = join(dir, 'kill.pth');
    copyFileSync(fixture(CASE, 'train/epoch1.pth'), path);
    const before = readFileSync(path);
    const script = join(dir, 'save-big.mts');
    writeFileSync(
      script,
      `import { saveTorch } from ${JSON.stringify(join(REPO, 'src/checkpoint/torch_file.ts'))};
import { PyTensor } from ${JSON.stringify(join(REPO, 'src/checkpoint/pickle_writer.ts'))};
const big = new Float32Array(96 * 2 ** 20).fill(1);
process.stdout.write('start\\n');
saveTorch(${JSON.stringify(path)}, new Map([['model', new Map([['w', new PyTensor('float32', [big.length], big)]])]]));
`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: REPO });
    await new Promise<void>((done) => child.stdout.once('data', () => done()));
    await new Promise((r) => setTimeout(r, 150));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const after = readFileSync(path);
    // either the old file untouched, or (if the save finished first) the complete new one
    if (after.length === before.length) expect(after.equals(before)).toBe(true);
    else expect(after.length).toBeGreaterThan(96 * 2 ** 22);
    expect(existsSync(path)).toBe(true);
  }, 60_000);
});

describe('flatten-vit train --data', () => {
  let root: string;
  beforeAll(() => {
    root = join(dir, 'folder');
    makeImageFolder(root, 'train', ['ant', 'bee', 'cat'], 4, 40);
    makeImageFolder(root, 'val', ['ant', 'bee', 'cat'], 1, 40, 1);
  });
  const onFolder = (data: string, extra: string[]) => [
    'train',
    '--arch',
    fixture(CASE, 'config.json'),
    '--data',
    data,
    '--threads',
    '1',
    '--workers',
    '1',
    ...extra,
    '--opts',
    'DATA.BATCH_SIZE',
    '4',
    'TRAIN.EPOCHS',
    '1',
    'DATA.IMG_SIZE',
    '64',
  ];

  it('trains on an ImageFolder with the official augmentation, stores the class names, and classify prints them', () => {
    const out = join(dir, 'folder-run');
    const r = cli(onFolder(root, ['--out', out, '--json']));
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, number>);
    // 12 images in batches of 4, labels from 3 class folders
    expect(lines.filter((l) => l.step !== undefined)).toHaveLength(3);
    const epoch = lines.find((l) => l.step === undefined)!;
    expect(epoch.val_acc5).toBe(100);
    expect(epoch.data_wait_fraction).toBeGreaterThanOrEqual(0);
    expect(epoch.data_wait_fraction).toBeLessThanOrEqual(1);
    const sd = openCheckpoint(join(out, 'last.pth'));
    expect(sd.classNames).toEqual(['ant', 'bee', 'cat']);
    expect(sd.tensors.get('head.weight')!.shape).toEqual([3, 64]);
    sd.close();
    const c = cli([
      'classify',
      '--arch',
      fixture(CASE, 'config.json'),
      '--checkpoint',
      join(out, 'last.pth'),
      join(root, 'val', 'bee', '0.png'),
      '--json',
      '--top',
      '3',
    ]);
    expect(c.status, c.stderr).toBe(0);
    const [result] = JSON.parse(c.stdout) as { top: { label: string }[] }[];
    expect(result.top.map((t) => t.label).sort()).toEqual(['ant', 'bee', 'cat']);
  }, 120_000);

  it('fails in one line on an empty class folder, and on --data with --batches', () => {
    const empty = join(dir, 'empty-class');
    makeImageFolder(empty, 'train', ['a', 'b'], 2, 40);
    mkdirSync(join(empty, 'train', 'c'));
    expect(expectCleanFailure(cli(onFolder(empty, [])))).toMatch(/train\/c: class folder holds no images/);
    expect(expectCleanFailure(cli(onFolder(root, ['--batches', fixture(CASE, 'train/steps')])))).toMatch(
      /--data and --batches\/--val-batches exclude each other/,
    );
  }, 60_000);
});
