/**
 * The browser app (`web/`): the demo (`index.html`) and the training page (`train.html`). `npm run web`
 * serves it for development, `npm run build:web` writes it to `dist-web/`. Both send the COOP/COEP headers that make the page cross-origin isolated, so
 * onnxruntime-web can run WASM on several threads; its `.wasm` files are bundled as assets.
 */
import { defineConfig } from 'vite';

/** The headers of a cross-origin isolated page. */
export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  root: 'web',
  base: './',
  build: {
    outDir: '../dist-web',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 4096,
    rollupOptions: { input: { index: 'web/index.html', train: 'web/train.html' } },
  },
  worker: { format: 'es' },
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  server: { headers: ISOLATION_HEADERS },
  preview: { headers: ISOLATION_HEADERS },
});
