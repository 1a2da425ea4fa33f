/**
 * The `flatten-vit` command line: dispatches to one command, and turns every failure into one line on
 * stderr and a non-zero exit status (1 for a problem with the input, 2 for a usage error or a bug).
 */
import { type Command, parse, UsageError } from './command.js';
import { analyzeCommand } from './commands/analyze.js';
import { benchCommand } from './commands/bench.js';
import { classifyCommand } from './commands/classify.js';
import { convertCommand } from './commands/convert.js';
import { evalCommand } from './commands/eval.js';
import { exportCommand } from './commands/export.js';
import { infoCommand } from './commands/info.js';
import { preprocessCommand } from './commands/preprocess.js';
import { predictCommand } from './commands/predict.js';
import { serveCommand } from './commands/serve.js';
import { trainCommand } from './commands/train.js';
import { FlattenError, oneLine } from '../util/errors.js';

const COMMANDS: readonly Command[] = [
  classifyCommand,
  evalCommand,
  predictCommand,
  trainCommand,
  serveCommand,
  preprocessCommand,
  infoCommand,
  benchCommand,
  analyzeCommand,
  exportCommand,
  convertCommand,
];

function help(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'flatten-vit: FLatten Transformer models (focused linear attention) with official checkpoints',
    '',
    'Usage: flatten-vit <command> [options]      (flatten-vit <command> --help for details)',
    '',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
  ].join('\n');
}

/** Runs the CLI with `argv` (without node and script). Returns the exit status. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${help()}\n`);
    return name === undefined ? 2 : 0;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  try {
    if (!cmd) throw new UsageError(`unknown command '${name}'; expected one of ${COMMANDS.map((c) => c.name).join(', ')}`);
    const { values, positionals } = parse(cmd, rest);
    if (values.help) {
      process.stdout.write(`${cmd.usage}\n`);
      return 0;
    }
    return (await cmd.run(values, positionals)) ?? 0;
  } catch (e) {
    return report(e, cmd);
  }
}

function report(e: unknown, cmd: Command | undefined): number {
  if (process.env.FLATTEN_VIT_DEBUG) process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  if (e instanceof UsageError) {
    process.stderr.write(`flatten-vit: ${e.message} (see flatten-vit ${cmd ? `${cmd.name} ` : ''}--help)\n`);
    return 2;
  }
  if (e instanceof FlattenError) {
    process.stderr.write(`flatten-vit: ${e.message}\n`);
    return 1;
  }
  const msg = e instanceof Error ? e.message : String(e);
  process.stderr.write(`flatten-vit: unexpected error: ${oneLine(msg.split('\n')[0])} (set FLATTEN_VIT_DEBUG=1 for details)\n`);
  return 2;
}
