import { mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listDataFolder } from '../../src/train/data.js';
import { makeImageFolder } from '../helpers/image_folder.js';

const fresh = () => mkdtempSync(join(tmpdir(), 'flatten-data-'));

describe('a --data folder', () => {
  it('takes classes from train/ and labels val/ images by class name', () => {
    const root = fresh();
    makeImageFolder(root, 'train', ['ant', 'bee', 'cat'], 2, 8);
    makeImageFolder(root, 'val', ['bee', 'cat'], 1, 8);
    const d = listDataFolder(root);
    expect(d.classes).toEqual(['ant', 'bee', 'cat']);
    expect(d.train).toHaveLength(6);
    // val/ alone would number bee 0 and cat 1; by name they are 1 and 2
    expect(d.val!.map((s) => s.target)).toEqual([1, 2]);
  });

  it('walks a link loop once, as a folder already visited is not entered again', () => {
    const root = fresh();
    makeImageFolder(root, 'train', ['a', 'b'], 2, 8);
    symlinkSync(join(root, 'train', 'a'), join(root, 'train', 'a', 'again'));
    expect(listDataFolder(root).train).toHaveLength(4);
  });

  it('works without val/', () => {
    const root = fresh();
    makeImageFolder(root, 'train', ['a', 'b'], 1, 8);
    expect(listDataFolder(root).val).toBeNull();
  });

  it('refuses a missing train/, an empty class folder and val/ classes that train/ lacks, in one line naming the folder', () => {
    const none = fresh();
    expect(() => listDataFolder(none)).toThrow(/has no train\/ folder; expected .*train\/<class>\/<image>/);
    const empty = fresh();
    makeImageFolder(empty, 'train', ['a', 'b'], 1, 8);
    mkdirSync(join(empty, 'train', 'c'));
    expect(() => listDataFolder(empty)).toThrow(/train\/c: class folder holds no images/);
    const extra = fresh();
    makeImageFolder(extra, 'train', ['a', 'b'], 1, 8);
    makeImageFolder(extra, 'val', ['a', 'zebra'], 1, 8);
    expect(() => listDataFolder(extra)).toThrow(/val: class folder\(s\) zebra have no counterpart in .*train/);
  });
});
