/**
 * Constructor arguments, as the official Python constructors take them. Each family describes its
 * arguments (type and official default); {@link resolveArgs} checks a user's `{family, args}` against
 * that and fills in the defaults, with errors that name the argument and what it should be.
 */
import { FlattenError } from '../util/errors.js';

/** The JSON types an argument may take. */
export type ArgKind = 'int' | 'number' | 'bool' | 'string' | 'int[]' | 'number[]' | 'number?' | 'int|int[]' | 'ignored';

/** One constructor argument: its kind and the official default. */
export interface ArgSpec {
  readonly kind: ArgKind;
  readonly default: unknown;
}

/** All arguments of one constructor, by official name. */
export type ArgSchema = Readonly<Record<string, ArgSpec>>;

/** Shorthand used by the families' schemas. */
export const arg = (kind: ArgKind, def: unknown): ArgSpec => ({ kind, default: def });

/**
 * flatten-vit's ablation options, accepted by every family beside the official arguments: the
 * kernel function of linear attention (`focused`, or `relu` for plain linear attention) and whether
 * the rank-restoring DWC is there.
 */
export const ABLATION_ARGS: ArgSchema = {
  kernel_function: arg('string', 'focused'),
  dwc: arg('bool', true),
};

/** The ablation options of resolved arguments, checked. */
export function ablation(a: Readonly<Record<string, unknown>>, where: string): { kernelFunction: 'focused' | 'relu'; dwc: boolean } {
  const k = a.kernel_function;
  require_(k === 'focused' || k === 'relu', where, `kernel_function must be 'focused' or 'relu', found '${String(k)}'`);
  return { kernelFunction: k, dwc: a.dwc !== false };
}

function check(kind: ArgKind, v: unknown): boolean {
  const isInt = (x: unknown) => typeof x === 'number' && Number.isInteger(x);
  switch (kind) {
    case 'int':
      return isInt(v);
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    case 'bool':
      return typeof v === 'boolean';
    case 'string':
      return typeof v === 'string' || isInt(v);
    case 'int[]':
      return Array.isArray(v) && v.every(isInt);
    case 'number[]':
      return Array.isArray(v) && v.every((x) => typeof x === 'number');
    case 'number?':
      return v === null || (typeof v === 'number' && Number.isFinite(v));
    case 'int|int[]':
      return isInt(v) || (Array.isArray(v) && v.length === 2 && v.every(isInt));
    case 'ignored':
      return true;
  }
}

const KIND_TEXT: Record<ArgKind, string> = {
  int: 'an integer',
  number: 'a number',
  bool: 'true or false',
  string: 'a string',
  'int[]': 'a list of integers',
  'number[]': 'a list of numbers',
  'number?': 'a number or null',
  'int|int[]': 'an integer or a pair of integers',
  ignored: 'anything',
};

/**
 * Fills in defaults and checks types. Unknown arguments are an error unless the official constructor
 * swallows them (`**kwargs`), in which case they are returned in `ignored`.
 */
export function resolveArgs(
  schema: ArgSchema,
  given: Readonly<Record<string, unknown>>,
  where: string,
  acceptsExtra: boolean,
): { args: Record<string, unknown>; ignored: string[] } {
  const args: Record<string, unknown> = {};
  const ignored: string[] = [];
  for (const [k, v] of Object.entries(given)) {
    const spec = Object.hasOwn(schema, k) ? schema[k] : undefined;
    if (!spec) {
      if (acceptsExtra) {
        ignored.push(k);
        continue;
      }
      throw new FlattenError(
        'config',
        `${where}: unknown argument '${k}'; the official constructor accepts ${Object.keys(schema).join(', ')}`,
      );
    }
    if (!check(spec.kind, v)) {
      throw new FlattenError('config', `${where}: argument '${k}' must be ${KIND_TEXT[spec.kind]}, found ${JSON.stringify(v)}`);
    }
    args[k] = spec.kind === 'string' && typeof v === 'number' ? String(v) : v;
  }
  for (const [k, spec] of Object.entries(schema)) if (!(k in args)) args[k] = structuredClone(spec.default);
  return { args, ignored };
}

/** Fails with a config error unless `cond` holds. */
export function require_(cond: boolean, where: string, msg: string): asserts cond {
  if (!cond) throw new FlattenError('config', `${where}: ${msg}`);
}

/** Checks that a per-stage list has exactly `n` entries. */
export function requireLength(v: readonly unknown[] | string, n: number, name: string, where: string): void {
  require_(v.length >= n, where, `'${name}' needs ${n} entries (one per stage), found ${v.length}`);
}
