/**
 * Commands whose images all turn out unreadable (a FIFO, a link to /dev/zero, text named .png) end
 * with one line and exit 1, and write nothing: an accuracy, a classification or a training run over
 * no images is not a result.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';
import { fixture } from '../helpers/fixtures.js';

const MODEL = ['--arch', fixture('pvt_v2_mini', 'config.json'), '--checkpoint', fixture('pvt_v2_mini', 'checkpoint.pth')];

/** A class folder of unreadable entries: a FIFO, a link to /dev/zero, text named .png. */
function unreadable(dir: string): void {
  mkdirSync(join(dir, 'a'), { recursive: true });
  mkdirSync(join(dir, 'b'), { recursive: true });
  expect(spawnSync('mkfifo', [join(dir, 'a', 'fifo.png')]).status).toBe(0);
  symlinkSync('/dev/zero', join(dir, 'b', 'zero.png'));
  writeFileSync(join(dir, 'b', 'text.png'), 'not an image');
}

/** The failure every command must end with: one line naming what was expected, exit 1. */
function oneLine(r: { status: number; stderr: string }, message: RegExp): void {
  const lines = r.stderr.trim().split('\n');
  expect(r.status).toBe(1);
  expect(lines.at(-1)).toMatch(message);
  expect(r.stderr).not.toMatch(/^\s+at /m);
}

describe('no readable image', () => {
  it('eval over a folder of unreadable files: one line, exit 1, no accuracy', () => {
    const dir = mkdtempSync(join(tmpdir(), 'flatten-unreadable-'));
    unreadable(dir);
    const r = cli(['eval', ...MODEL, '--data', dir, '--json']);
    oneLine(r, /no readable image among its 3 file\(s\) \(3 could not be read\); an accuracy over no images is not a result/);
    expect(r.stdout).toBe('');
  });

  it('classify with no readable image: one line, exit 1', () => {
    const dir = mkdtempSync(join(tmpdir(), 'flatten-unreadable-'));
    unreadable(dir);
    const r = cli(['classify', ...MODEL, '--json', join(dir, 'b', 'zero.png'), join(dir, 'b', 'text.png')]);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    oneLine(r, /no readable image among the 2 given \(first: .*zero\.png: is not a regular file/);
    expect(r.stdout).toBe('');
  });

  it('train --data whose train/ or val/ is unreadable: one line, exit 1, nothing written', () => {
    for (const bad of ['train', 'val']) {
      const root = mkdtempSync(join(tmpdir(), 'flatten-unreadable-'));
      for (const half of ['train', 'val']) {
        if (half === bad) unreadable(join(root, half));
        else
          for (const c of ['a', 'b']) {
            mkdirSync(join(root, half, c), { recursive: true });
            copyFileSync(fixture('images', 'chelsea.png'), join(root, half, c, 'ok.png'));
          }
      }
      const out = join(root, 'out');
      const r = cli([
        'train',
        '--arch',
        fixture('pvt_v2_mini', 'config.json'),
        '--data',
        root,
        '--out',
        out,
        '--workers',
        '0',
        '--opts',
        'TRAIN.EPOCHS',
        '1',
        'DATA.BATCH_SIZE',
        '2',
        'DATA.IMG_SIZE',
        '64',
      ]);
      oneLine(
        r,
        bad === 'train'
          ? /train: fewer than one batch of 2 readable images .*nothing to train on/
          : /val: no readable image among its 3; a validation accuracy over no images is not a result/,
      );
      // the run's opening line, then the error; the unreadable files are counted in it, not listed
      if (bad === 'train') expect(r.stderr).not.toMatch(/warning: skipped/);
      expect(existsSync(out)).toBe(false);
    }
  });
});
