/**
 * ImageFolder datasets, listed exactly as torchvision's `datasets.ImageFolder` lists them: class
 * folders sorted by name give the class indices, and each class folder is walked recursively in
 * sorted order, keeping files with torchvision's image extensions.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FlattenError } from '../util/errors.js';

/** torchvision's `IMG_EXTENSIONS`. */
export const IMG_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif', '.tiff', '.webp'];

/** One labelled image. */
export interface Sample {
  path: string;
  target: number;
}

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

/** `os.walk` order as `sorted(os.walk(...))` yields it: folders sorted by path, files sorted by name. */
function walk(dir: string): { root: string; files: string[] }[] {
  const out: { root: string; files: string[] }[] = [];
  const visit = (root: string) => {
    const files: string[] = [];
    const dirs: string[] = [];
    for (const name of readdirSync(root)) (isDir(join(root, name)) ? dirs : files).push(name);
    out.push({ root, files: files.sort() });
    for (const d of dirs) visit(join(root, d));
  };
  visit(dir);
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
      for (const f of files) if (IMG_EXTENSIONS.some((e) => f.toLowerCase().endsWith(e))) samples.push({ path: join(root, f), target });
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
