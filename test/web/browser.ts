/**
 * Headless Chromium from Debian's `chromium` package, driven by playwright-core: never a downloaded
 * browser. `CHROMIUM_PATH` overrides the executable.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Launches headless Chromium (playwright gives it a fresh temporary profile) with no background
 * network traffic; with `webgpu`, WebGPU is on and runs on SwiftShader, the software GPU that
 * Debian's chromium ships, so that it works on a machine without a GPU.
 */
export async function launch(backend: 'wasm' | 'webgpu' = 'wasm'): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium) or set CHROMIUM_PATH`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      ...(backend === 'webgpu' ? ['--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader'] : ['--disable-gpu']),
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-dev-shm-usage',
      // performance.measureUserAgentSpecificMemory() at once instead of at the next garbage collection.
      '--enable-blink-features=ForceEagerMeasureMemory',
    ],
  });
}
