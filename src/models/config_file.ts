/**
 * Architectures given as paths to `{family, args}` JSON files (Node).
 */
import { readFileSync } from 'node:fs';
import { FlattenError } from '../util/errors.js';
import { type Architecture, type ArchitectureConfig, resolveArchitecture } from './registry.js';

function readConfigText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    throw new FlattenError('config', `${path}: cannot read the architecture file`);
  }
}

/**
 * Resolves a registered name, a `{family, args}` object, or a path to a config.json.
 *
 * @example
 * ```ts
 * const arch = resolveArchitectureSpec('../shared/fixtures/swin_mini/config.json');
 * ```
 */
export function resolveArchitectureSpec(spec: string | ArchitectureConfig): Architecture {
  return resolveArchitecture(spec, readConfigText);
}
