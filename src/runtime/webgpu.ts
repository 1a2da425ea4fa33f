/**
 * onnxruntime-node's WebGPU provider (Dawn over Vulkan on Linux), made safe to ask for: whether an
 * adapter is there is found out once per process in a child process, because Dawn and the Vulkan
 * loader print their failures straight to the terminal (`vkCreateInstance: Found no drivers!`) and
 * onnxruntime then throws a multi-line C++ message. The parent sees only a one-line answer.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { FlattenError } from '../util/errors.js';

/** What a WebGPU check found. */
export interface WebGpuStatus {
  ok: boolean;
  /** The Vulkan driver Dawn was pointed at, when `VK_ICD_FILENAMES` names one (e.g. `swiftshader`). */
  adapter: string;
  /** Why there is no usable adapter (when `ok` is false). */
  reason?: string;
}

/** A two-node ONNX model (Relu, Identity on a float (batch) tensor, from `Graph`), enough to make onnxruntime open an adapter. */
const TINY_MODEL =
  'CAgSC2ZsYXR0ZW4tdml0GgUwLjEuMDqAAQolCgF4Egxtb2RlbC9SZWx1XzAaDG1vZGVsL1JlbHVfMCIEUmVsdQoeCgxtb2RlbC9SZWx1XzASAXkaAXkiCElkZW50aXR5EgtmbGF0dGVuX3ZpdFoUCgF4Eg8KDQgBEgkKBxIFYmF0Y2hiFAoBeRIPCg0IARIJCgcSBWJhdGNoQgQKABAR';

let status: WebGpuStatus | null = null;

/**
 * The adapter as far as it can be named from Node: the driver in `VK_ICD_FILENAMES` (onnxruntime-node
 * does not expose Dawn's adapter info), or `default Vulkan driver`.
 */
function adapterName(): string {
  const icd = process.env.VK_ICD_FILENAMES;
  if (!icd) return 'default Vulkan driver';
  try {
    const lib = (JSON.parse(readFileSync(icd.split(':')[0], 'utf8')) as { ICD?: { library_path?: string } }).ICD?.library_path;
    return lib ? basename(lib).replace(/^libvk_?|\.so.*$/g, '') || lib : icd;
  } catch {
    return icd;
  }
}

/**
 * Checks once per process, in a child process, that onnxruntime-node can open a WebGPU adapter.
 * Also gives Dawn the `XDG_RUNTIME_DIR` it complains about when the environment has none.
 *
 * @example
 * ```ts
 * const s = webGpuStatus();
 * if (!s.ok) console.error(s.reason);
 * ```
 */
export function webGpuStatus(): WebGpuStatus {
  if (status) return status;
  if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = mkdtempSync(join(tmpdir(), 'flatten-vit-xdg-'));
  const adapter = adapterName();
  const icd = process.env.VK_ICD_FILENAMES;
  const missing = icd?.split(':').find((f) => f && !existsSync(f));
  if (missing) {
    status = { ok: false, adapter, reason: `VK_ICD_FILENAMES names ${missing}, which does not exist` };
    return status;
  }
  const ort = createRequire(import.meta.url).resolve('onnxruntime-node');
  const script = `require(${JSON.stringify(ort)}).InferenceSession.create(Buffer.from(${JSON.stringify(TINY_MODEL)}, 'base64'), { executionProviders: ['webgpu'], logSeverityLevel: 4 }).then(() => process.exit(0), (e) => { process.stdout.write(String(e.message)); process.exit(3); });`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 120_000 });
  if (r.status === 0) status = { ok: true, adapter };
  else {
    const said = `${r.stderr}\n${r.stdout}`;
    const vulkan = /vkCreateInstance: ([^\n]+)/.exec(said)?.[1] ?? /(VK_ERROR_\w+)/.exec(said)?.[1];
    const ortLine = (/Failed to get a WebGPU adapter[^\n]*/.exec(r.stdout) ?? /[^\n]*adapter[^\n]*/i.exec(r.stdout))?.[0];
    status = {
      ok: false,
      adapter,
      reason: vulkan ? `Vulkan: ${vulkan}` : ortLine ? ortLine.trim() : r.signal ? `the check was stopped by ${r.signal}` : 'no adapter',
    };
  }
  return status;
}

/**
 * Fails with one line unless WebGPU works here, saying what to do.
 *
 * @example
 * ```ts
 * requireWebGpu(); // before creating a session with executionProviders: ['webgpu']
 * ```
 */
export function requireWebGpu(): WebGpuStatus {
  const s = webGpuStatus();
  if (!s.ok) {
    throw new FlattenError(
      'runtime',
      `--ep webgpu: onnxruntime found no usable WebGPU adapter (${s.reason}); install a Vulkan driver for your GPU, or on a machine without one use SwiftShader from Debian's chromium (VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json), or use --ep cpu`,
    );
  }
  return s;
}
