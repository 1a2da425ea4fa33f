/** The check of onnxruntime-node's blocked-layout kernels, and the runtimes that offer them. */
import { describe, expect, it } from 'vitest';
import { nchwcKernels } from '../../src/runtime/nchwc.js';
import { nodeStepRuntime } from '../../src/runtime/session.js';

describe('nchwcKernels', () => {
  it("finds the kernels in onnxruntime-node's CPU provider on x64, and only the CPU runtime offers them", async () => {
    if (process.arch === 'x64') expect(await nchwcKernels()).toBe(true);
    expect(await nchwcKernels()).toBe(await nchwcKernels());
    expect(nodeStepRuntime().nchwcKernels).toBe(nchwcKernels);
    expect(nodeStepRuntime({ executionProviders: ['webgpu', 'cpu'] }).nchwcKernels).toBeUndefined();
  });
});
