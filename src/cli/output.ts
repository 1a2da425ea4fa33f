/**
 * Writing results safely: output paths are checked before any work starts (never one of the inputs),
 * and everything a command produces is written to temporary files that are renamed into place only
 * once all of them exist, so a failure leaves no output file behind and no earlier file damaged.
 */
import { existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { FlattenError, oneLine } from '../util/errors.js';

/** Fails if `out` is one of `inputs` or its folder does not exist. */
export function checkOutputPath(out: string, inputs: readonly (string | undefined)[], what: string): void {
  const target = resolve(out);
  for (const i of inputs) {
    if (i !== undefined && resolve(i) === target) {
      throw new FlattenError('usage', `${out}: ${what} would overwrite an input file; choose another path`);
    }
  }
  const dir = dirname(target);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new FlattenError('usage', `${out}: folder ${dirname(out)} does not exist; create it first`);
  }
  if (existsSync(target) && statSync(target).isDirectory()) {
    throw new FlattenError('usage', `${out}: is a folder; ${what} needs a file path`);
  }
}

/** Collects files and writes them all-or-nothing. */
export class OutputSet {
  private readonly files: { path: string; bytes: Uint8Array }[] = [];
  private readonly dirs: string[] = [];

  /** Queues a file. */
  add(path: string, bytes: Uint8Array): void {
    this.files.push({ path, bytes });
  }

  /** Queues a folder to be created (with its parents) before the files are moved in. */
  dir(path: string): void {
    this.dirs.push(path);
  }

  /** Writes every file under a temporary name, then renames them all into place. */
  commit(): void {
    const tmps: string[] = [];
    try {
      for (const d of this.dirs) mkdirSync(d, { recursive: true });
      for (const f of this.files) {
        const tmp = join(dirname(resolve(f.path)), `.${process.pid}.${tmps.length}.flatten-vit.tmp`);
        writeFileSync(tmp, f.bytes);
        tmps.push(tmp);
      }
      this.files.forEach((f, i) => renameSync(tmps[i], f.path));
    } catch (e) {
      for (const t of tmps) rmSync(t, { force: true });
      throw new FlattenError('io', `cannot write outputs: ${(e as Error).message}`);
    }
  }
}

/**
 * Writes one line to stderr as every message of the command line reads: `flatten-vit: ` and the text
 * made safe for a terminal (one line, control characters escaped, long text cut; see `oneLine`).
 *
 * @example
 * ```ts
 * tell(`warning: ${w}`);
 * ```
 */
export function tell(text: string): void {
  process.stderr.write(`flatten-vit: ${oneLine(text)}\n`);
}
