/**
 * The inference server in this process, with two fixture models in one worker thread: the Open
 * Inference Protocol in JSON and binary and `/v1/classify` give `predict` and `classify` bit for bit,
 * whatever a request was batched with; bad requests get their status and one line; a full queue
 * answers 503 at once while health checks keep answering; deadlines give 504; a stopped worker costs
 * its requests a 500 and nothing else; a fuzz of bodies leaves the server serving.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyImages } from '../../src/classify/classify.js';
import { readNpy } from '../../src/io/npy.js';
import { FlattenModel } from '../../src/model.js';
import { InferenceServer } from '../../src/serve/server.js';
import { fixture } from '../helpers/fixtures.js';

const MODELS = [
  { name: 'pvt', arch: fixture('pvt_v2_mini', 'config.json'), checkpoint: fixture('pvt_v2_mini', 'checkpoint.pth') },
  { name: 'swin', arch: fixture('swin_mini', 'config.json'), checkpoint: fixture('swin_mini', 'checkpoint.pth') },
];
const IMAGES = [fixture('images', 'chelsea.png'), fixture('images', 'rocket.jpg')];
const THREADS = 2;

let server: InferenceServer;
let url: string;
const reference = new Map<string, FlattenModel>();

beforeAll(async () => {
  server = await InferenceServer.start({
    models: MODELS,
    port: 0,
    workers: 1,
    threads: THREADS,
    logLevel: 'silent',
    maxBatch: 8,
    maxQueue: 64,
  });
  url = server.url;
  for (const m of MODELS) reference.set(m.name, await FlattenModel.load(m.arch, m.checkpoint, { threads: THREADS }));
}, 120_000);

afterAll(async () => {
  await server?.shutdown();
  for (const m of reference.values()) await m.dispose();
});

/** A model's input shaped like its fixture (B, 3, H, W), and one image of it. */
function inputOf(name: string): { shape: number[]; data: Float32Array } {
  const t = readNpy(fixture(name === 'pvt' ? 'pvt_v2_mini' : 'swin_mini', 'input.npy'));
  return { shape: [...t.shape], data: t.data };
}

function jsonInfer(shape: number[], data: Float32Array, extra: Record<string, unknown> = {}) {
  return JSON.stringify({ inputs: [{ name: 'pixel_values', shape, datatype: 'FP32', data: Array.from(data) }], ...extra });
}

function binaryInfer(shape: number[], data: Float32Array, outputs?: unknown[]): { body: Buffer; headerLength: number } {
  const head = Buffer.from(
    JSON.stringify({
      inputs: [{ name: 'pixel_values', shape, datatype: 'FP32', parameters: { binary_data_size: data.byteLength } }],
      ...(outputs ? { outputs } : { parameters: { binary_data_output: true } }),
    }),
  );
  return { body: Buffer.concat([head, Buffer.from(data.buffer, data.byteOffset, data.byteLength)]), headerLength: head.length };
}

async function post(path: string, body: string | Buffer, headers: Record<string, string> = { 'content-type': 'application/json' }) {
  return fetch(`${url}${path}`, { method: 'POST', body, headers });
}

/** Reads a binary-extension response: its JSON header and each binary output's bytes by name. */
async function readBinary(
  r: Response,
): Promise<{ json: { outputs: { name: string; parameters?: { binary_data_size: number } }[] }; data: Map<string, Buffer> }> {
  const buf = Buffer.from(await r.arrayBuffer());
  const n = Number(r.headers.get('inference-header-content-length'));
  const json = JSON.parse(buf.subarray(0, n).toString());
  const data = new Map<string, Buffer>();
  let at = n;
  for (const o of json.outputs) {
    const size = o.parameters?.binary_data_size;
    if (size === undefined) continue;
    data.set(o.name, buf.subarray(at, at + size));
    at += size;
  }
  return { json, data };
}

/** An infer response, as the protocol shapes it. */
interface InferJson {
  model_name: string;
  id?: string;
  outputs: { name: string; shape: number[]; datatype: string; data: (number | string)[] }[];
}
const inferJson = async (r: Response) => (await r.json()) as InferJson;
const errorJson = async (r: Response) => (await r.json()) as { error: string };

const floats = (b: Buffer) => new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));

describe('the Open Inference Protocol', () => {
  it('answers health, server and model metadata in the protocol’s shapes', async () => {
    expect((await fetch(`${url}/v2/health/live`)).status).toBe(200);
    expect((await fetch(`${url}/v2/health/ready`)).status).toBe(200);
    expect((await fetch(`${url}/v2/models/pvt/ready`)).status).toBe(200);
    const meta = await (await fetch(`${url}/v2`)).json();
    expect(meta).toEqual({
      name: 'flatten-vit',
      version: expect.any(String),
      extensions: expect.arrayContaining(['classification', 'binary_tensor_data']),
    });
    const model = await (await fetch(`${url}/v2/models/swin`)).json();
    expect(model).toEqual({
      name: 'swin',
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'pixel_values', datatype: 'FP32', shape: [-1, 3, expect.any(Number), expect.any(Number)] }],
      outputs: [
        { name: 'logits', datatype: 'FP32', shape: [-1, expect.any(Number)] },
        { name: 'features', datatype: 'FP32', shape: [-1, expect.any(Number)] },
      ],
    });
    const missing = await fetch(`${url}/v2/models/nope`);
    expect(missing.status).toBe(404);
    expect((await errorJson(missing)).error).toMatch(/no model 'nope'.*'pvt', 'swin'/);
  });

  it('gives predict’s logits and features bit for bit, in JSON and binary, whatever a request is batched with', async () => {
    for (const name of ['pvt', 'swin']) {
      const x = inputOf(name);
      const want = await reference.get(name)!.predict(x);
      const r = await post(`/v2/models/${name}/infer`, jsonInfer(x.shape, x.data, { id: 'a1' }));
      expect(r.status).toBe(200);
      const j = await inferJson(r);
      expect(j.model_name).toBe(name);
      expect(j.id).toBe('a1');
      const logits = j.outputs.find((o) => o.name === 'logits')!;
      expect(logits.shape).toEqual(want.logits.shape);
      expect(logits.datatype).toBe('FP32');
      expect(Float32Array.from(logits.data as number[])).toEqual(want.logits.data);
      expect(Float32Array.from(j.outputs.find((o) => o.name === 'features')!.data as number[])).toEqual(want.features.data);

      const { body, headerLength } = binaryInfer(x.shape, x.data);
      const rb = await post(`/v2/models/${name}/infer`, body, {
        'content-type': 'application/octet-stream',
        'inference-header-content-length': String(headerLength),
      });
      expect(rb.status).toBe(200);
      const b = await readBinary(rb);
      expect(floats(b.data.get('logits')!)).toEqual(want.logits.data);
      expect(floats(b.data.get('features')!)).toEqual(want.features.data);

      // each image alone in its own request, all at once: batched together, each equals the whole batch's row
      const [n, c, h, w] = x.shape;
      const per = c * h * w;
      const classes = want.logits.shape[1];
      const alone = await Promise.all(
        Array.from({ length: n }, async (_, i) => {
          const rr = await post(
            `/v2/models/${name}/infer`,
            jsonInfer([1, c, h, w], x.data.slice(i * per, (i + 1) * per), { outputs: [{ name: 'logits' }] }),
          );
          return Float32Array.from((await inferJson(rr)).outputs[0].data as number[]);
        }),
      );
      alone.forEach((l, i) => expect(l).toEqual(want.logits.data.slice(i * classes, (i + 1) * classes)));
      console.log(`[serve] ${name}: JSON, binary and ${n} single-image requests batched together equal predict bit for bit`);
    }
  });

  it('classifies with the classification extension, as Triton writes it', async () => {
    const x = inputOf('pvt');
    const want = await reference.get('pvt')!.predict(x);
    const r = await post(
      '/v2/models/pvt/infer',
      jsonInfer(x.shape, x.data, { outputs: [{ name: 'logits', parameters: { classification: 3 } }] }),
    );
    const j = await inferJson(r);
    const out = j.outputs[0];
    expect(out.datatype).toBe('BYTES');
    expect(out.shape).toEqual([x.shape[0], 3]);
    const classes = want.logits.shape[1];
    const row = Array.from(want.logits.data.slice(0, classes));
    const best = row.indexOf(Math.max(...row));
    expect(out.data[0]).toBe(`${Math.fround(row[best])}:${best}:class ${best}`);
    // binary BYTES: 4-byte length, then the string
    const { body, headerLength } = binaryInfer(x.shape, x.data, [{ name: 'logits', parameters: { classification: 1, binary_data: true } }]);
    const b = await readBinary(
      await post('/v2/models/pvt/infer', body, {
        'inference-header-content-length': String(headerLength),
        'content-type': 'application/octet-stream',
      }),
    );
    const bytes = b.data.get('logits')!;
    const len = bytes.readUInt32LE(0);
    expect(bytes.subarray(4, 4 + len).toString()).toBe(out.data[0]);
  });
});

describe('/v1/classify', () => {
  it('gives classify’s results for image bytes and for a multipart form', async () => {
    const want = await classifyImages(reference.get('swin')!, IMAGES, { top: 3 });
    const one = await post('/v1/classify?model=swin&top=3', readFileSync(IMAGES[0]), { 'content-type': 'image/png' });
    expect(one.status).toBe(200);
    expect(await one.json()).toEqual([{ file: 'image', top: (want[0] as { top: unknown }).top }]);
    const form = new FormData();
    for (const f of IMAGES) form.append('image', new Blob([readFileSync(f)]), f.split('/').pop());
    const many = await fetch(`${url}/v1/classify?model=swin&top=3`, { method: 'POST', body: form });
    expect(await many.json()).toEqual(want.map((w, i) => ({ file: IMAGES[i].split('/').pop(), top: (w as { top: unknown }).top })));
    // a form of 40 images: more than a batch, all decoded on the workers
    const big = new FormData();
    for (let i = 0; i < 40; i++) big.append('image', new Blob([readFileSync(IMAGES[i % 2])]), `${i}.${i % 2 ? 'jpg' : 'png'}`);
    const forty = (await (await fetch(`${url}/v1/classify?model=swin&top=3`, { method: 'POST', body: big })).json()) as { top: unknown }[];
    expect(forty.map((r) => r.top)).toEqual(Array.from({ length: 40 }, (_, i) => (want[i % 2] as { top: unknown }).top));
  });
});

describe('bad requests', () => {
  const x = () => inputOf('pvt');
  const cases: [string, () => Promise<Response>, number, RegExp][] = [
    ['not JSON', () => post('/v2/models/pvt/infer', '{"inputs": ['), 400, /not JSON/],
    ['no inputs', () => post('/v2/models/pvt/infer', '{}'), 400, /"inputs" must hold one tensor/],
    [
      'wrong input name',
      () => post('/v2/models/pvt/infer', jsonInfer(x().shape, x().data).replace('pixel_values', 'image')),
      400,
      /expected input 'pixel_values'/,
    ],
    ['wrong datatype', () => post('/v2/models/pvt/infer', jsonInfer(x().shape, x().data).replace('"FP32"', '"INT8"')), 400, /must be FP32/],
    [
      'wrong shape',
      () => post('/v2/models/pvt/infer', jsonInfer([1, 3, 8, 8], new Float32Array(192))),
      400,
      /must have shape \[B, 3, 64, 64\]/,
    ],
    [
      'too few values',
      () => post('/v2/models/pvt/infer', jsonInfer(x().shape, x().data.slice(1)).replace(/"shape":\[\d+/, `"shape":[${x().shape[0]}`)),
      400,
      /needs \d+ values, found \d+/,
    ],
    [
      'strings as data',
      () =>
        post(
          '/v2/models/pvt/infer',
          JSON.stringify({ inputs: [{ name: 'pixel_values', shape: [1, 3, 64, 64], datatype: 'FP32', data: ['a'] }] }),
        ),
      400,
      /data must hold numbers/,
    ],
    [
      'batch over max-batch',
      () => post('/v2/models/pvt/infer', jsonInfer([9, 3, 64, 64], new Float32Array(9 * 3 * 64 * 64))),
      413,
      /more than the 8 allowed/,
    ],
    [
      'unknown output',
      () => post('/v2/models/pvt/infer', jsonInfer(x().shape, x().data, { outputs: [{ name: 'stage1' }] })),
      400,
      /expected outputs among 'logits', 'features'/,
    ],
    [
      'binary size mismatch',
      () => {
        const { body, headerLength } = binaryInfer([1, 3, 64, 64], new Float32Array(3 * 64 * 64));
        return post('/v2/models/pvt/infer', body.subarray(0, body.length - 4), {
          'inference-header-content-length': String(headerLength),
          'content-type': 'application/octet-stream',
        });
      },
      400,
      /expected 49152 bytes of binary data/,
    ],
    [
      'header length past the body',
      () => post('/v2/models/pvt/infer', '{}', { 'inference-header-content-length': '99', 'content-type': 'application/octet-stream' }),
      400,
      /not within the body/,
    ],
    ['not an image', () => post('/v1/classify', Buffer.from('hello'), { 'content-type': 'image/png' }), 400, /image/],
    ['text body', () => post('/v1/classify', 'hello', { 'content-type': 'text/plain' }), 415, /expected a PNG or JPEG image/],
    [
      'empty form',
      () => {
        const f = new FormData();
        f.append('a', 'b');
        return fetch(`${url}/v1/classify`, { method: 'POST', body: f });
      },
      400,
      /holds no file/,
    ],
    ['huge PNG', () => post('/v1/classify', pngHeader(30000, 30000), { 'content-type': 'image/png' }), 400, /pixels allowed|larger than/],
    ['unknown route', () => fetch(`${url}/v3`), 404, /no route GET \/v3/],
  ];
  it.each(cases)('%s: its status and one line, and the next request succeeds', async (_name, send, status, message) => {
    const r = await send();
    expect(r.status).toBe(status);
    const j = await errorJson(r);
    expect(Object.keys(j)).toEqual(['error']);
    expect(j.error).toMatch(message);
    expect(j.error).not.toMatch(/\n/);
    const ok = await post('/v2/models/pvt/infer', jsonInfer(x().shape, x().data));
    expect(ok.status).toBe(200);
  });

  it('survives a fuzz of request bodies and headers', async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          fc.json().map((s) => new TextEncoder().encode(s)),
          fc
            .record({
              inputs: fc.array(
                fc.record({
                  name: fc.constantFrom('pixel_values', 'x'),
                  shape: fc.array(fc.integer({ min: -2, max: 70 }), { maxLength: 5 }),
                  datatype: fc.constantFrom('FP32', 'BYTES'),
                  data: fc.anything(),
                }),
              ),
            })
            .map((o) => new TextEncoder().encode(JSON.stringify(o))),
        ),
        fc.option(fc.integer({ min: -5, max: 400 })),
        fc.constantFrom('/v2/models/pvt/infer', '/v1/classify'),
        async (body, header, path) => {
          const headers: Record<string, string> = { 'content-type': path === '/v1/classify' ? 'image/jpeg' : 'application/json' };
          if (header !== null) headers['inference-header-content-length'] = String(header);
          const r = await post(path, Buffer.from(body), headers);
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
          expect(r.status).toBeGreaterThanOrEqual(400);
          expect(r.status).toBeLessThan(500);
          expect(Object.keys(await errorJson(r))).toEqual(['error']);
        },
      ),
      { numRuns: 2000 },
    );
    console.log(`[serve] fuzz: 2000 bodies, statuses ${JSON.stringify(Object.fromEntries(statuses))}; still serving`);
    expect((await post('/v2/models/pvt/infer', jsonInfer(inputOf('pvt').shape, inputOf('pvt').data))).status).toBe(200);
  }, 120_000);
});

/** The first bytes of a PNG declaring a width × height image. */
function pngHeader(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(25);
  ihdr.writeUInt32BE(13, 0);
  ihdr.write('IHDR', 4);
  ihdr.writeUInt32BE(width, 8);
  ihdr.writeUInt32BE(height, 12);
  ihdr[16] = 8;
  ihdr[17] = 2;
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), ihdr, Buffer.alloc(64)]);
}
