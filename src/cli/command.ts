/**
 * The shape of a CLI command and the small helpers every command uses to read its options.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { FlattenError } from '../util/errors.js';

/** One `flatten-vit <name>` command. */
export interface Command {
  readonly name: string;
  readonly summary: string;
  /** Usage text shown by `--help`. */
  readonly usage: string;
  readonly options: NonNullable<ParseArgsConfig['options']>;
  readonly allowPositionals?: boolean;
  /** Runs the command; resolves to the exit status (0 when nothing is returned). */
  run(values: Record<string, string | boolean | string[] | undefined>, positionals: string[]): Promise<number | void>;
}

/** A usage error: printed with a pointer to `--help`, exit status 2. */
export class UsageError extends FlattenError {
  constructor(message: string) {
    super('usage', message);
  }
}

/** Parses argv for a command, turning parse failures into usage errors. */
export function parse(
  cmd: Command,
  argv: string[],
): { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { ...cmd.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: cmd.allowPositionals ?? false,
      strict: true,
    });
    return { values: values as Record<string, string | boolean | string[] | undefined>, positionals };
  } catch (e) {
    throw new UsageError(`${cmd.name}: ${(e as Error).message.replace(/\. To specify.*$/, '')}`);
  }
}

/** A required string option. */
export function required(values: Record<string, unknown>, name: string, cmd: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '') throw new UsageError(`${cmd}: --${name} is required`);
  return v;
}

/** An optional positive integer option. */
export function positiveInt(values: Record<string, unknown>, name: string, cmd: string): number | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${cmd}: --${name} must be a positive integer, found '${String(v)}'`);
  return n;
}

/** Options shared by every command that runs a model. */
export const runtimeOptions = {
  threads: { type: 'string' },
  ep: { type: 'string' },
} as const;

/** Reads `--threads` and `--ep` (comma-separated execution providers). */
export function runtimeFrom(values: Record<string, unknown>, cmd: string): { threads?: number; executionProviders?: string[] } {
  const ep = typeof values.ep === 'string' ? values.ep.split(',').filter(Boolean) : undefined;
  return { threads: positiveInt(values, 'threads', cmd), executionProviders: ep };
}
