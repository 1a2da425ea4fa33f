/**
 * ImageFolder datasets, listed exactly as torchvision's `datasets.ImageFolder` lists them: class
 * folders sorted by name give the class indices, and each class folder is walked recursively in
 * sorted order, keeping files with torchvision's image extensions.
 */
import { readdirSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { IMG_EXTENSIONS, isImageName, type Sample } from '../data/sample.js';
import { FlattenError } from '../util/errors.js';

export { IMG_EXTENSIONS, type Sample } from '../data/sample.js';

/** A listed ImageFolder. */
export interface ImageFolder {
  classes: string[];
  samples: Sample[];
}

const isDir = (p: string) => {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
};

/**
 * `os.walk(dir, followlinks=True)` order as `sorted(...)` yields it: folders sorted by path, files
 * sorted by name. Links are followed as torchvision follows them, but a folder already visited (a link
 * loop) is not entered again, and the walk goes on without a stack.
 */
function walk(dir: string): { root: string; files: string[] }[] {
  const out: { root: string; files: string[] }[] = [];
  const seen = new Set<string>();
  const pending = [dir];
  while (pending.length) {
    const root = pending.pop()!;
    let real: string;
    let names: string[];
    try {
      real = realpathSync(root);
      if (seen.has(real)) continue;
      names = readdirSync(root);
    } catch {
      continue;
    }
    seen.add(real);
    const files: string[] = [];
    for (const name of names) {
      if (isDir(join(root, name))) pending.push(join(root, name));
      else files.push(name);
    }
    out.push({ root, files: files.sort() });
  }
  return out.sort((a, b) => (a.root < b.root ? -1 : a.root > b.root ? 1 : 0));
}

/**
 * Lists an ImageFolder dataset.
 *
 * @example
 * ```ts
 * const { classes, samples } = listImageFolder('imagenet/val'); // 1000 classes, 50000 samples
 * ```
 */
export function listImageFolder(dir: string): ImageFolder {
  if (!isDir(dir)) throw new FlattenError('io', `${dir}: not a folder; expected an ImageFolder (one subfolder per class)`);
  const classes = readdirSync(dir)
    .filter((n) => isDir(join(dir, n)))
    .sort();
  if (classes.length === 0)
    throw new FlattenError('io', `${dir}: has no class subfolders; expected an ImageFolder (one subfolder per class)`);
  const samples: Sample[] = [];
  classes.forEach((cls, target) => {
    for (const { root, files } of walk(join(dir, cls))) {
      for (const f of files) if (isImageName(f)) samples.push({ path: join(root, f), target });
    }
  });
  if (samples.length === 0) throw new FlattenError('io', `${dir}: its class folders hold no images (${IMG_EXTENSIONS.join(' ')})`);
  return { classes, samples };
}

/** `n` samples spread evenly over the dataset (so a limited run still covers every class). */
export function spread<T>(items: readonly T[], n: number | undefined): T[] {
  if (n === undefined || n >= items.length) return [...items];
  return Array.from({ length: n }, (_, i) => items[Math.floor((i * items.length) / n)]);
}
