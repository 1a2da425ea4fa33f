/**
 * A dataset of ready batches (`--batches <dir>`): `batch0_x.npy` (B, 3, H, W) float32 with
 * `batch0_y.npy` (B,) integer labels, then `batch1_…`, taken in order; one epoch is all of them.
 * Files are read when their step comes, and checked against the model before they are used.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readNpy, readNpyShape } from '../io/npy.js';
import type { Tensor } from '../tensor.js';
import { FlattenError } from '../util/errors.js';
import { smoothedTargets } from './criterion.js';

/** One batch on disk. */
export interface BatchFiles {
  readonly x: string;
  readonly y: string;
}

/** Lists the batches of a folder, in order. */
export function listBatches(dir: string): BatchFiles[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new FlattenError('input', `${dir}: no such folder of batches`);
  const out: BatchFiles[] = [];
  for (let i = 0; existsSync(join(dir, `batch${i}_x.npy`)); i++) {
    const y = join(dir, `batch${i}_y.npy`);
    if (!existsSync(y)) throw new FlattenError('input', `${dir}: batch${i}_x.npy has no batch${i}_y.npy beside it`);
    out.push({ x: join(dir, `batch${i}_x.npy`), y });
  }
  if (out.length === 0)
    throw new FlattenError('input', `${dir}: holds no batch0_x.npy; expected batchI_x.npy (B, 3, H, W) and batchI_y.npy (B,) files`);
  return out;
}

/**
 * Checks every batch before training starts: the images' shapes from their headers, and the labels
 * (shape and range), so that a bad file stops the run before its first step rather than in the middle.
 */
export function checkBatches(batches: readonly BatchFiles[], batch: number, input: readonly number[], classes: number): void {
  for (const b of batches) {
    checkImages(b.x, readNpyShape(b.x), batch, input);
    smoothedTargets(readLabels(b.y, batch), classes, 0, b.y);
  }
}

/** Checks validation batches before training starts: images of the model's input, any batch size, labels in range. */
export function checkValidationBatches(batches: readonly BatchFiles[], input: readonly number[], classes: number): void {
  for (const b of batches) {
    const shape = readNpyShape(b.x);
    checkImages(b.x, shape, shape[0], input);
    smoothedTargets(readLabels(b.y, shape[0]), classes, 0, b.y);
  }
}

function checkImages(file: string, shape: readonly number[], batch: number, input: readonly number[]): void {
  const want = [batch, ...input];
  if (!(batch >= 1)) throw new FlattenError('input', `${file}: holds no images`);
  if (shape.length !== 4 || shape.some((d, i) => d !== want[i])) {
    throw new FlattenError(
      'input',
      `${file}: expected images of shape (${want.join(', ')}) (DATA.BATCH_SIZE, channels, height, width), found (${shape.join(', ')})`,
    );
  }
}

function readLabels(file: string, batch: number): Float32Array {
  const y = readNpy(file);
  if (y.shape.length !== 1 || y.shape[0] !== batch) {
    throw new FlattenError('input', `${file}: expected ${batch} labels, shape (${batch}), found (${y.shape.join(', ')})`);
  }
  return y.data;
}

/** Reads one batch of any size (validation) and checks the images against the model's input. */
export function readLabeledBatch(b: BatchFiles, input: readonly number[]): { x: Tensor; labels: Float32Array } {
  const x = readNpy(b.x);
  checkImages(b.x, x.shape, x.shape[0], input);
  return { x, labels: readLabels(b.y, x.shape[0]) };
}

/** Reads one batch and checks it against the graph's batch and input shape. */
export function readBatch(b: BatchFiles, batch: number, input: readonly number[]): { x: Tensor; labels: Float32Array } {
  const x = readNpy(b.x);
  checkImages(b.x, x.shape, batch, input);
  return { x, labels: readLabels(b.y, batch) };
}
