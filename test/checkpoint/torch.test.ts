import { describe, expect, it } from 'vitest';
import { openCheckpoint } from '../../src/checkpoint/open.js';
import { FlattenError } from '../../src/util/errors.js';
import { fixture } from '../helpers/fixtures.js';
import { Instance, OrderedDict, PickleBytes, PyFloat, Raw, TensorSpec, TorchSaver, Tuple } from '../helpers/torch_save.js';

const read = (bytes: Uint8Array, opts = {}) => openCheckpoint(bytes, { name: 'test.pth', ...opts });
const values = (sd: ReturnType<typeof read>, key: string) => Array.from(sd.tensors.get(key)!.read());

describe('torch.save checkpoints', () => {
  it('reads the official training layout and uses only the model entry', () => {
    const sd = openCheckpoint(fixture('pvt_mini', 'checkpoint.pth'));
    expect(sd.entry).toBe('model');
    expect(sd.otherEntries).toEqual(['optimizer', 'lr_scheduler', 'max_accuracy', 'epoch', 'config']);
    expect(sd.tensors.get('block1.0.attn.positional_encoding')!.shape).toEqual([1, 256, 16]);
    expect(sd.tensors.get('head.weight')!.read().length).toBe(640);
    sd.close();
  });

  it('picks state_dict_ema with ema, and says so when there is none', () => {
    const sd = openCheckpoint(fixture('cswin_mini', 'checkpoint.pth'), { ema: true });
    expect(sd.entry).toBe('state_dict_ema');
    sd.close();
    expect(() => openCheckpoint(fixture('pvt_mini', 'checkpoint.pth'), { ema: true })).toThrow(/no 'state_dict_ema' entry/);
  });

  it('rebuilds strided views into one shared storage', () => {
    const t = new TorchSaver();
    const s = t.storage('float32', [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    const root = new Map([
      [
        'model',
        new OrderedDict([
          ['a', new TensorSpec(s, [3, 4], [4, 1])],
          ['aT', new TensorSpec(s, [4, 3], [1, 4])],
          ['row1', new TensorSpec(s, [4], [1], 4)],
          ['col2', new TensorSpec(s, [3, 1], [4, 1], 2)],
          ['scalar', new TensorSpec(s, [], [], 11)],
        ]),
      ],
    ]);
    const sd = read(t.save(root));
    expect(values(sd, 'a')).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(values(sd, 'aT')).toEqual([0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
    expect(values(sd, 'row1')).toEqual([4, 5, 6, 7]);
    expect(values(sd, 'col2')).toEqual([2, 6, 10]);
    expect(values(sd, 'scalar')).toEqual([11]);
  });

  it('widens every storage type to float32', () => {
    const t = new TorchSaver();
    const v = [1.5, -2.25, 65504, 0.099975586];
    const root = new OrderedDict([
      ['f32', t.tensor('float32', [4], v)],
      ['f16', t.tensor('float16', [4], v)],
      ['bf16', t.tensor('bfloat16', [2], [1.5, -2.25])],
      ['f64', t.tensor('float64', [2], [0.1, -3])],
      ['i64', t.tensor('int64', [2], [7, -9])],
      ['i32', t.tensor('int32', [2], [7, -9])],
      ['u8', t.tensor('uint8', [2], [7, 255])],
      ['b', t.tensor('bool', [2], [1, 0])],
    ]);
    const sd = read(t.save(root));
    expect(sd.entry).toBe('(root)');
    expect(sd.tensors.get('f16')!.dtype).toBe('float16');
    expect(values(sd, 'f16')).toEqual([1.5, -2.25, 65504, 0.099975586].map((x) => Math.fround(x)));
    expect(values(sd, 'bf16')).toEqual([1.5, -2.25]);
    expect(values(sd, 'f64')).toEqual([Math.fround(0.1), -3]);
    expect(values(sd, 'i64')).toEqual([7, -9]);
    expect(values(sd, 'i32')).toEqual([7, -9]);
    expect(values(sd, 'u8')).toEqual([7, 255]);
    expect(values(sd, 'b')).toEqual([1, 0]);
  });

  it('accepts any top folder name, deflated entries and ZIP64 records', () => {
    for (const opts of [{ prefix: 'my_model' }, { deflate: true }, { zip64: true }, { prefix: 'x', deflate: true, zip64: true }]) {
      const t = new TorchSaver();
      const sd = read(t.save(new Map([['state_dict', new OrderedDict([['w', t.tensor('float32', [2], [3, 4])]])]]), opts));
      expect(sd.entry).toBe('state_dict');
      expect(values(sd, 'w')).toEqual([3, 4]);
    }
  });

  it('never reads the optimizer storages (their data may even be missing)', () => {
    const t = new TorchSaver();
    const w = t.tensor('float32', [2], [1, 2]);
    const m = t.tensor('float32', [2], [9, 9]);
    const root = new Map<string, unknown>([
      ['model', new OrderedDict([['w', w]])],
      ['optimizer', new Map([['state', new Map([[0, new Map([['exp_avg', m]])]])]])],
      ['max_accuracy', new PyFloat(81.5)],
      ['epoch', 299],
      [
        'config',
        new Instance('yacs.config', 'CfgNode', [['MODEL', new Instance('yacs.config', 'CfgNode', [['TYPE', 'swin']])]], new Map()),
      ],
    ]);
    const sd = read(t.save(root as never, { omit: [m.storage] }));
    expect(values(sd, 'w')).toEqual([1, 2]);
    expect(sd.otherEntries).toContain('config');
  });

  it("strips DistributedDataParallel's module. prefix", () => {
    const t = new TorchSaver();
    const sd = read(t.save(new OrderedDict([['module.head.weight', t.tensor('float32', [1], [1])]])));
    expect([...sd.tensors.keys()]).toEqual(['head.weight']);
  });

  it('refuses a tensor that reaches past its storage, before reading anything', () => {
    const t = new TorchSaver();
    const s = t.storage('float32', [1, 2, 3]);
    const bytes = t.save(new OrderedDict([['w', new TensorSpec(s, [2, 2], [2, 1])]]));
    expect(() => read(bytes)).toThrow(/tensor w: extends to element 3 of a storage of 3 elements/);
  });

  it('refuses a storage file shorter than declared', () => {
    const t = new TorchSaver();
    const s = t.storage('float32', [1, 2]);
    const p = new PickleBytes().op(0x80, 2);
    p.global('torch._utils', '_rebuild_tensor_v2').op(0x28);
    p.op(0x28).unicode('storage').global('torch', 'FloatStorage').unicode(s).unicode('cpu').int(1000).op(0x74, 0x51);
    p.int(0)
      .value(new Tuple([1000]), new Map())
      .value(new Tuple([1]), new Map())
      .op(0x89)
      .op(0x4e)
      .op(0x74, 0x52);
    const pkl = Uint8Array.from([0x80, 2, 0x7d, 0x28, ...new PickleBytes().unicode('w').b, ...p.b.slice(2), 0x75, 0x2e]);
    expect(() => read(t.save(null, { pickle: pkl }))).toThrow(/has 8 bytes but declares 1000 float32 elements/);
  });

  it('refuses a pickle that asks to run os.system, naming it', () => {
    const t = new TorchSaver();
    const evil = new Raw([...new PickleBytes().global('os', 'system').unicode('echo pwned').op(0x85, 0x52).b]);
    const bytes = t.save(new Map([['model', evil]]));
    expect(() => read(bytes)).toThrow(FlattenError);
    expect(() => read(bytes)).toThrow(/asks to call os\.system, which flatten-vit never runs/);
  });

  it('says what is wrong with files that are not checkpoints', () => {
    expect(() => read(new TextEncoder().encode('hello, world'))).toThrow(/test\.pth: is not a checkpoint/);
    expect(() => read(new Uint8Array(0))).toThrow(/is empty/);
    const t = new TorchSaver();
    const good = t.save(new OrderedDict([['w', t.tensor('float32', [2], [1, 2])]]));
    expect(() => read(good.subarray(0, good.length - 30))).toThrow(/not a zip archive .*truncated/);
    expect(() => read(good.subarray(0, 100))).toThrow(FlattenError);
  });

  it('explains a whole pickled module and a checkpoint without a state dict', () => {
    const t = new TorchSaver();
    expect(() => read(t.save(new Instance('models.flatten_swin', 'FLattenSwinTransformer', [])))).toThrow(
      /whole pickled models\.flatten_swin\.FLattenSwinTransformer/,
    );
    expect(() => read(t.save(new Map([['epoch', 3]])))).toThrow(/holds no state dict/);
  });
});
