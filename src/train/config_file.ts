/**
 * The official YAML config files in Node: a file and its `BASE` includes (paths relative to it, read
 * first), merged over the defaults as yacs merges them (config.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { FlattenError } from '../util/errors.js';
import { buildConfig, type ConfigDocument, type TrainingConfig } from './config.js';

function readYaml(file: string, out: ConfigDocument[], depth: number): void {
  if (!existsSync(file)) throw new FlattenError('input', `${file}: no such config file`);
  if (depth > 8) throw new FlattenError('input', `${file}: BASE includes nest deeper than 8 files`);
  let doc: unknown;
  try {
    doc = parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new FlattenError('input', `${file}: not a YAML file (${(e as Error).message.split('\n')[0]})`);
  }
  if (doc === null || doc === undefined) return;
  if (typeof doc !== 'object' || Array.isArray(doc))
    throw new FlattenError('input', `${file}: expected a mapping of config keys, found ${typeof doc}`);
  const tree = doc as Record<string, unknown>;
  const bases = (tree.BASE as unknown[] | undefined) ?? [];
  for (const b of bases) if (typeof b === 'string' && b) readYaml(resolve(dirname(file), b), out, depth + 1);
  out.push({ name: file, doc: tree });
}

/**
 * Builds the configuration: defaults, then the YAML file (and its `BASE` files), then `opts`.
 *
 * @example
 * ```ts
 * const cfg = loadConfig('cfgs/flatten_swin_t.yaml', ['DATA.BATCH_SIZE', '32']);
 * num(cfg, 'TRAIN.BASE_LR'); // 0.0005
 * ```
 */
export function loadConfig(file: string | null, opts: readonly string[] = []): TrainingConfig {
  const docs: ConfigDocument[] = [];
  if (file) readYaml(file, docs, 0);
  return buildConfig(docs, opts);
}
