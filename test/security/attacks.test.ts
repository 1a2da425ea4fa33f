/**
 * The second hostile corpus (`attacks.ts`) through the command line, as a user would meet it: each
 * file must end within 30 s and 2 GB with one line on stderr and exit status 1 (or succeed, if it is
 * valid), never a signal, a stack trace or a raw control character, and write nothing.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, fixture } from '../helpers/fixtures.js';
import { type Attack, attacks } from './attacks.js';

const LIMIT_MS = 30_000;
const LIMIT_KIB = 2 * 2 ** 20;
const CACHE = mkdtempSync(join(tmpdir(), 'flatten-attacks-cache-'));

interface Outcome {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  peakKiB: number;
}

/** Runs the CLI in a child process, timing it and reading its peak memory. */
function run(args: string[], rssFile: string): Promise<Outcome> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--import', join(REPO, 'test', 'helpers', 'peak_rss.mjs'), join(REPO, 'src', 'cli', 'bin.ts'), ...args],
      { cwd: REPO, env: { ...process.env, FLATTEN_VIT_CACHE: CACHE, FLATTEN_TEST_PEAK_RSS: rssFile }, timeout: LIMIT_MS * 2 },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status, signal) =>
      resolve({
        status,
        signal,
        stdout,
        stderr,
        ms: performance.now() - t0,
        peakKiB: existsSync(rssFile) ? Number(readFileSync(rssFile, 'utf8')) : NaN,
      }),
    );
  });
}

function command(a: Attack, path: string, out: string): string[] {
  const model = ['--arch', fixture('pvt_mini', 'config.json'), '--checkpoint', fixture('pvt_mini', 'checkpoint.pth'), '--threads', '1'];
  switch (a.role) {
    case 'checkpoint':
      return ['predict', ...model.slice(0, 2), '--checkpoint', path, '--input', fixture('pvt_mini', 'input.npy'), '--save-logits', out];
    case 'input':
      return ['predict', ...model, '--input', path, '--save-logits', out];
    case 'image':
      return ['preprocess', path, '--size', '224', '--save', out];
    case 'config':
      return ['info', '--arch', path];
    case 'folder':
      return ['eval', ...model, '--data', path, '--json'];
  }
}

/** Two commands at a time, so that the times measured are not those of a crowded machine. */
let active = 0;
const waiting: (() => void)[] = [];
async function limited<T>(fn: () => Promise<T>): Promise<T> {
  while (active >= 2) await new Promise<void>((r) => waiting.push(r));
  active++;
  try {
    return await fn();
  } finally {
    active--;
    waiting.shift()?.();
  }
}

const hasMkfifo = spawnSync('mkfifo', ['--version']).status === 0;

describe('the second hostile corpus, through the CLI', () => {
  it.concurrent.each(attacks().map((a) => [a.name, a] as const))('%s', async (_, a) => {
    const dir = mkdtempSync(join(tmpdir(), 'flatten-attack-'));
    const path = join(dir, `input${a.ext}`);
    a.make(path);
    if (a.role === 'folder' && hasMkfifo) spawnSync('mkfifo', [join(path, 'a', 'pipe.png')]);
    const before = readdirSync(dir).sort();
    const out = join(dir, 'out.npy');
    const r = await limited(() => run(command(a, path, out), join(tmpdir(), `flatten-attack-rss-${process.pid}-${Math.random()}`)));
    console.log(
      `[attacks] ${a.name}: exit ${r.status ?? r.signal}, ${(r.ms / 1000).toFixed(1)} s, peak ${(r.peakKiB / 1024).toFixed(0)} MB`,
    );
    expect(r.signal).toBeNull();
    expect(r.ms).toBeLessThan(LIMIT_MS);
    expect(r.peakKiB).toBeLessThan(LIMIT_KIB);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    // eslint-disable-next-line no-control-regex -- no raw control character may reach the terminal
    expect(r.stderr).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f]/);
    if (a.error) {
      const lines = r.stderr.trim().split('\n');
      expect(r.status).toBe(1);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(a.error);
      expect(lines[0].length).toBeLessThan(800);
      expect(readdirSync(dir).sort()).toEqual(before);
    } else {
      expect(r.status).toBe(0);
    }
    if (a.role === 'folder' && !a.error) {
      const summary = JSON.parse(r.stdout) as { images: number; skipped: number };
      expect(summary.images).toBe(2);
      expect(summary.skipped).toBe(hasMkfifo ? 5 : 4);
      expect(
        r.stderr
          .trim()
          .split('\n')
          .every((l) => l.startsWith('flatten-vit: skipped ')),
      ).toBe(true);
    }
  });

  it('classify skips every hostile image of the folder, classifies the good ones, and says why in one line each', async () => {
    const a = attacks().find((x) => x.role === 'folder' && !x.error)!;
    const dir = join(mkdtempSync(join(tmpdir(), 'flatten-attack-')), 'data');
    a.make(dir);
    const images = ['a/good.png', 'a/zero.png', 'b/good.png', 'b/scans.jpg', 'b/tall.png', 'b/text.jpg'].map((f) => join(dir, f));
    const args = ['classify', '--arch', fixture('pvt_mini', 'config.json'), '--checkpoint', fixture('pvt_mini', 'checkpoint.pth')];
    const r = await limited(() =>
      run([...args, '--threads', '1', '--json', ...images], join(tmpdir(), `flatten-attack-rss-${process.pid}-c`)),
    );
    console.log(
      `[attacks] classify over the hostile images: exit ${r.status}, ${(r.ms / 1000).toFixed(1)} s, peak ${(r.peakKiB / 1024).toFixed(0)} MB`,
    );
    expect(r.status).toBe(1);
    expect((JSON.parse(r.stdout) as { file: string }[]).map((x) => x.file)).toEqual([images[0], images[2]]);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/skipped .*zero\.png: is not a regular file/);
    expect(lines[1]).toMatch(/skipped .*scans\.jpg: cannot decode JPEG: has more than 1000 scans/);
    expect(lines[2]).toMatch(/skipped .*tall\.png: resizing 1x5000000 to 73x73 passes through/);
    expect(lines[3]).toMatch(/skipped .*text\.jpg: is not an image/);
  });
});
