/**
 * A static server for the built demo (`dist-web/`) with the COOP/COEP headers that make the page
 * cross-origin isolated, as `vite preview` serves it; it also serves files from one extra folder
 * under `/files/` (checkpoints loaded by URL in the tests).
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve } from 'node:path';
import { ISOLATION_HEADERS } from '../../vite.config.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.css': 'text/css',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
};

/** Serves `root` (and `files` under `/files/`) on a free local port; resolves to the base URL. */
export async function serve(root: string, files?: string): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const [base, rel] = files && path.startsWith('/files/') ? [files, path.slice(7)] : [root, path === '/' ? 'index.html' : path.slice(1)];
    const file = resolve(base, normalize(rel));
    if (!file.startsWith(resolve(base)) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, ISOLATION_HEADERS).end('not found');
      return;
    }
    res.writeHead(200, {
      ...ISOLATION_HEADERS,
      'Cross-Origin-Resource-Policy': 'same-origin',
      'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
      'Content-Length': statSync(file).size,
    });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise((ok) => server.close(() => ok())) };
}

export const DIST_WEB = join(import.meta.dirname, '..', '..', 'dist-web');
