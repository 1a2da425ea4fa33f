/**
 * The model registry: every family, every released variant by name, and the resolution of an
 * architecture given as a name, a `{family, args}` object or a path to such a JSON file.
 */
import { FlattenError } from '../util/errors.js';
import { resolveArgs } from './args.js';
import type { Family, FamilyName } from './family.js';
import { cswinFamily } from './cswin/cswin.js';
import { deitFamily } from './deit/deit.js';
import { pvtFamily } from './pvt/pvt.js';
import { pvtV2Family } from './pvt/pvt_v2.js';
import { swinFamily } from './swin/swin.js';

/** All families, by the name `config.json` uses. */
export const FAMILIES: Readonly<Record<FamilyName, Family>> = {
  swin: swinFamily,
  pvt: pvtFamily,
  pvt_v2: pvtV2Family,
  cswin: cswinFamily,
  deit: deitFamily,
};

/** An architecture with all its constructor arguments resolved. */
export interface Architecture {
  /** The registered name, or `custom` for an architecture given by arguments. */
  readonly name: string;
  readonly family: Family;
  /** Every constructor argument, defaults filled in. */
  readonly args: Readonly<Record<string, unknown>>;
  /** Arguments the official constructor would ignore (`**kwargs`). */
  readonly ignoredArgs: readonly string[];
  /** The config file it came from, for messages. */
  readonly source?: string;
}

/** `{family, args}`, as in the fixtures' `config.json`. */
export interface ArchitectureConfig {
  family: FamilyName;
  args?: Record<string, unknown>;
}

/** An architecture given by registered name, by `{family, args}`, or (in Node) by a path to a config.json. */
export type ArchitectureSpec = string | ArchitectureConfig;

/** Names of all registered variants. */
export function registeredNames(): string[] {
  return Object.values(FAMILIES).flatMap((f) => Object.keys(f.variants));
}

/**
 * Resolves an architecture: a registered name (`flatten_swin_t`), a `{family, args}` object, or (with
 * `readConfigFile`, as `resolveArchitectureSpec` passes it in Node) a path to a JSON file holding one.
 *
 * @example
 * ```ts
 * const arch = resolveArchitecture('flatten_pvt_v2_b0');
 * const custom = resolveArchitecture({ family: 'swin', args: { embed_dim: 48, window_size: 56 } });
 * ```
 */
export function resolveArchitecture(spec: string | ArchitectureConfig, readConfigFile?: (path: string) => string): Architecture {
  if (typeof spec === 'string') {
    for (const family of Object.values(FAMILIES)) {
      const row = Object.hasOwn(family.variants, spec) ? family.variants[spec] : undefined;
      if (row) {
        const { args, ignored } = resolveArgs(family.schema, row, spec, family.acceptsExtraArgs);
        return { name: spec, family, args, ignoredArgs: ignored };
      }
    }
    if (spec.endsWith('.json')) {
      if (!readConfigFile)
        throw new FlattenError('config', `${spec}: config files are read from disk only in Node; pass the {family, args} object instead`);
      return fromConfig(parseConfig(readConfigFile(spec), spec), spec);
    }
    const close = registeredNames().filter((n) => n.includes(spec) || spec.includes(n.replace('flatten_', '')));
    throw new FlattenError(
      'config',
      `unknown architecture '${spec}'; expected a registered name (${(close.length ? close : registeredNames()).join(', ')}) or a config.json path`,
    );
  }
  return fromConfig(spec, '<config>');
}

/**
 * The architecture with some constructor arguments replaced (its registered name kept).
 *
 * @example
 * ```ts
 * const three = withArgs(resolveArchitecture('flatten_pvt_v2_b0'), { num_classes: 3 });
 * ```
 */
export function withArgs(base: Architecture, args: Record<string, unknown>): Architecture {
  const arch = resolveArchitecture({ family: base.family.name, args: { ...base.args, ...args } });
  return { ...arch, name: base.name };
}

function parseConfig(text: string, path: string): ArchitectureConfig {
  try {
    return JSON.parse(text) as ArchitectureConfig;
  } catch {
    throw new FlattenError('config', `${path}: is not valid JSON; expected {"family": ..., "args": {...}}`);
  }
}

function fromConfig(cfg: ArchitectureConfig, where: string): Architecture {
  if (cfg === null || typeof cfg !== 'object' || typeof cfg.family !== 'string') {
    throw new FlattenError('config', `${where}: expected {"family": "swin" | "pvt" | "pvt_v2" | "cswin" | "deit", "args": {...}}`);
  }
  const family = Object.hasOwn(FAMILIES, cfg.family) ? FAMILIES[cfg.family] : undefined;
  if (!family)
    throw new FlattenError('config', `${where}: unknown family '${cfg.family}'; expected one of ${Object.keys(FAMILIES).join(', ')}`);
  const given = cfg.args ?? {};
  if (typeof given !== 'object' || Array.isArray(given)) throw new FlattenError('config', `${where}: 'args' must be an object`);
  const { args, ignored } = resolveArgs(family.schema, given, where, family.acceptsExtraArgs);
  return { name: 'custom', family, args, ignoredArgs: ignored, ...(where === '<config>' ? {} : { source: where }) };
}
