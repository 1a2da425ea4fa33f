/**
 * Downloading a checkpoint into the cache: resumes a partial download with an HTTP Range request,
 * checks the size against what the server announced, checks that the result is a checkpoint, and
 * only then moves it into place. A cached file is reused without touching the network.
 */
import { closeSync, existsSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { openCheckpoint } from '../checkpoint/open.js';
import { FlattenError } from '../util/errors.js';
import { PRETRAINED, type PretrainedEntry } from './pretrained.js';

/** The cache folder: `FLATTEN_VIT_CACHE`, else `$XDG_CACHE_HOME/flatten-vit`, else `~/.cache/flatten-vit`. */
export function cacheDir(): string {
  return process.env.FLATTEN_VIT_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'flatten-vit');
}

/** The URL of a pretrained checkpoint; `FLATTEN_VIT_HUB` replaces the official host (mirrors, tests). */
export function urlOf(name: string, entry: PretrainedEntry): string {
  const hub = process.env.FLATTEN_VIT_HUB;
  return hub ? `${hub.replace(/\/$/, '')}/${name}.pth` : entry.url;
}

/** Progress of a download in bytes. */
export type DownloadProgress = (received: number, total: number) => void;

/** True if `spec` names a pretrained checkpoint rather than a file. */
export function isPretrainedName(spec: string): boolean {
  return spec in PRETRAINED && !existsSync(spec);
}

/**
 * The local path of a pretrained checkpoint, downloading it first if it is not cached.
 *
 * @example
 * ```ts
 * const path = await fetchPretrained('flatten_swin_t.in1k', (got, total) => console.log(got, total));
 * const model = await FlattenModel.load('flatten_swin_t', path);
 * ```
 */
export async function fetchPretrained(name: string, onProgress?: DownloadProgress): Promise<string> {
  const entry = PRETRAINED[name];
  if (!entry) {
    throw new FlattenError('usage', `unknown pretrained checkpoint '${name}'; expected one of ${Object.keys(PRETRAINED).join(', ')}`);
  }
  const dir = cacheDir();
  const final = join(dir, `${name}.pth`);
  if (existsSync(final)) return final;
  mkdirSync(dir, { recursive: true });
  const url = urlOf(name, entry);
  const part = `${final}.part`;
  await download(url, part, name, onProgress);
  try {
    openCheckpoint(part).close();
  } catch (e) {
    rmSync(part, { force: true });
    throw new FlattenError(
      'download',
      `${url}: the downloaded file is not a valid checkpoint (${(e as Error).message}); it was removed, try again`,
    );
  }
  renameSync(part, final);
  return final;
}

async function download(url: string, part: string, name: string, onProgress?: DownloadProgress): Promise<void> {
  const have = existsSync(part) ? statSync(part).size : 0;
  const offline = (why: string) =>
    new FlattenError(
      'download',
      `cannot download ${name} from ${url} (${why}); download it by hand and pass --checkpoint <file>, or put it at ${part.slice(0, -5)}`,
    );
  let res: Response;
  try {
    res = await fetch(url, { headers: have > 0 ? { Range: `bytes=${have}-` } : {}, redirect: 'follow' });
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw offline(cause?.code ?? cause?.message ?? (e as Error).message);
  }
  let start = 0;
  let total: number;
  if (res.status === 206) {
    const m = /bytes (\d+)-\d+\/(\d+)/.exec(res.headers.get('content-range') ?? '');
    if (!m || Number(m[1]) !== have) throw offline('the server resumed at the wrong offset');
    start = have;
    total = Number(m[2]);
  } else if (res.status === 200) {
    total = Number(res.headers.get('content-length') ?? NaN);
  } else if (res.status === 416 && have > 0) {
    rmSync(part, { force: true });
    return download(url, part, name, onProgress);
  } else {
    throw offline(`HTTP ${res.status}`);
  }
  const fd = openSync(part, start > 0 ? 'a' : 'w');
  let received = start;
  try {
    if (!res.body) throw offline('empty response');
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      writeSync(fd, chunk);
      received += chunk.length;
      onProgress?.(received, Number.isFinite(total) ? total : received);
    }
  } catch (e) {
    if (e instanceof FlattenError) throw e;
    throw offline(`the connection broke after ${received} bytes; run again to resume`);
  } finally {
    closeSync(fd);
  }
  if (Number.isFinite(total) && received !== total) {
    throw offline(`received ${received} of ${total} bytes; run again to resume`);
  }
}
