import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cacheDir, fetchPretrained } from '../../src/hub/download.js';
import { fixture } from '../helpers/fixtures.js';

const body = readFileSync(fixture('pvt_mini', 'checkpoint.pth'));

/** A local server for `<name>.pth` with Range support; `mode` breaks it on purpose. */
function serve(mode: { cutAt?: number; lie?: boolean } = {}): Promise<{ server: Server; url: string; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.url} ${req.headers.range ?? ''}`.trim());
    const m = /bytes=(\d+)-/.exec(req.headers.range ?? '');
    const start = m ? Number(m[1]) : 0;
    const slice = body.subarray(start);
    const headers: Record<string, string | number> = { 'content-length': mode.lie ? slice.length + 100 : slice.length };
    if (m) headers['content-range'] = `bytes ${start}-${body.length - 1}/${body.length}`;
    res.writeHead(m ? 206 : 200, headers);
    if (mode.cutAt !== undefined) {
      res.write(slice.subarray(0, mode.cutAt));
      setTimeout(() => res.destroy(), 50);
    } else {
      res.end(slice);
      if (mode.lie) setTimeout(() => res.destroy(), 20);
    }
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests })),
  );
}

let env: NodeJS.ProcessEnv;
beforeEach(() => {
  env = { ...process.env };
  process.env.FLATTEN_VIT_CACHE = mkdtempSync(join(tmpdir(), 'flatten-cache-'));
});
afterEach(() => {
  process.env = env;
});

describe('pretrained checkpoints', () => {
  it('downloads into the cache with progress, then reuses the file offline', async () => {
    const { server, url, requests } = await serve();
    process.env.FLATTEN_VIT_HUB = url;
    const seen: number[] = [];
    const path = await fetchPretrained('flatten_pvt_t.in1k', (got) => seen.push(got));
    server.close();
    expect(path).toBe(join(cacheDir(), 'flatten_pvt_t.in1k.pth'));
    expect(statSync(path).size).toBe(body.length);
    expect(seen[seen.length - 1]).toBe(body.length);
    expect(requests).toEqual(['/flatten_pvt_t.in1k.pth']);
    expect(await fetchPretrained('flatten_pvt_t.in1k')).toBe(path);
  });

  it('resumes a partial download with a Range request', async () => {
    const { server, url, requests } = await serve();
    process.env.FLATTEN_VIT_HUB = url;
    writeFileSync(join(cacheDir(), 'flatten_pvt_t.in1k.pth.part'), body.subarray(0, 1000));
    const path = await fetchPretrained('flatten_pvt_t.in1k');
    server.close();
    expect(requests).toEqual(['/flatten_pvt_t.in1k.pth bytes=1000-']);
    expect(readFileSync(path).equals(body)).toBe(true);
  });

  it('keeps a broken download as .part, to resume, and never as the checkpoint', async () => {
    const { server, url } = await serve({ cutAt: 5000 });
    process.env.FLATTEN_VIT_HUB = url;
    await expect(fetchPretrained('flatten_pvt_t.in1k')).rejects.toThrow(/run again to resume/);
    server.close();
    expect(existsSync(join(cacheDir(), 'flatten_pvt_t.in1k.pth'))).toBe(false);
    expect(statSync(join(cacheDir(), 'flatten_pvt_t.in1k.pth.part')).size).toBe(5000);
    const again = await serve();
    process.env.FLATTEN_VIT_HUB = again.url;
    expect(readFileSync(await fetchPretrained('flatten_pvt_t.in1k')).equals(body)).toBe(true);
    again.server.close();
  });

  it('says which URL failed and what to do when offline', async () => {
    const { server, url } = await serve();
    server.close();
    process.env.FLATTEN_VIT_HUB = url;
    await expect(fetchPretrained('flatten_swin_t.in1k')).rejects.toThrow(
      new RegExp(
        `cannot download flatten_swin_t\\.in1k from ${url}/flatten_swin_t\\.in1k\\.pth \\(ECONNREFUSED\\); download it by hand and pass --checkpoint <file>`,
      ),
    );
  });

  it('rejects a size that does not match what the server announced', async () => {
    const { server, url } = await serve({ lie: true });
    process.env.FLATTEN_VIT_HUB = url;
    await expect(fetchPretrained('flatten_pvt_t.in1k')).rejects.toThrow(/flatten_pvt_t\.in1k/);
    server.close();
    expect(existsSync(join(cacheDir(), 'flatten_pvt_t.in1k.pth'))).toBe(false);
  });
});
