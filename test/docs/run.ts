/**
 * Test helper: runs the runnable blocks of a document (see markdown.ts) the way a reader would, in a
 * sandbox beside the fixtures, and says what broke.
 *
 * The sandbox is a folder holding `repo/` (a link to every top-level entry of this checkout, so that
 * `npx flatten-vit` and `npm run` work there, while what the commands write stays in the sandbox) and
 * `shared/` (a link to the fixtures' parent), so the docs' `../shared/fixtures/...` paths resolve as
 * they do beside a checkout.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fixturesDir, REPO } from '../helpers/fixtures.js';
import { type Block, consoleSteps, lineMatches, shellCommands } from './markdown.js';

/** What went wrong with one command of a document. */
export interface DocFailure {
  readonly file: string;
  readonly line: number;
  readonly command: string;
  readonly message: string;
}

/** A folder where a document's commands run; `cwd` is the repository's stand-in. */
export interface Sandbox {
  readonly cwd: string;
  dispose(): void;
}

/** A fresh sandbox (see the file's comment). */
export function makeSandbox(): Sandbox {
  const root = mkdtempSync(join(tmpdir(), 'flatten-docs-'));
  const cwd = join(root, 'repo');
  mkdirSync(cwd);
  symlinkSync(dirname(fixturesDir()), join(root, 'shared'));
  for (const entry of readdirSync(REPO)) {
    if (entry === '.git' || entry === 'runs') continue;
    symlinkSync(join(REPO, entry), join(cwd, entry));
  }
  return { cwd, dispose: () => rmSync(root, { recursive: true, force: true }) };
}

const ENV = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' };

/** Runs a shell script in `cwd`, stdout and stderr together. */
function sh(script: string, cwd: string, timeoutMs: number): { status: number | null; output: string } {
  const r = spawnSync('bash', ['-e', '-o', 'pipefail', '-c', `exec 2>&1\n${script}`], {
    cwd,
    env: ENV,
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 64 << 20,
  });
  const timedOut = r.error && (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT';
  return { status: timedOut ? null : r.status, output: (r.stdout ?? '') + (timedOut ? `\n(stopped after ${timeoutMs / 1000} s)` : '') };
}

/** Set-up commands CI has run before the doc test, which must not run again inside it. */
const DONE_BEFORE = new Set(['npm ci', 'npm install', 'npm run build', 'npm test']);

/** A block's script with the set-up commands of `&&` chains taken out. */
export function withoutSetup(script: string): string {
  return script
    .split('\n')
    .map((line) =>
      line
        .split(' && ')
        .map((part) => (DONE_BEFORE.has(part.trim()) ? 'true' : part))
        .join(' && '),
    )
    .join('\n');
}

const tail = (s: string) => s.trim().split('\n').slice(-6).join('\n');

/** Whether a documented training run learned, and its last validation in words. */
export interface Learning {
  readonly learned: boolean;
  readonly summary: string;
}

/**
 * What a documented training run must show: its last validation above chance by 20 points of
 * accuracy, and a validation loss below chance's ln(classes). Reads `--out`'s metrics.jsonl; null
 * for a command without `--data` and `--out`.
 */
export function learning(command: string, cwd: string): Learning | null {
  const out = /--out\s+(\S+)/.exec(command)?.[1];
  const data = /--data\s+(\S+)/.exec(command)?.[1];
  if (!out || !data) return null;
  const metrics = join(cwd, out, 'metrics.jsonl');
  if (!existsSync(metrics)) return { learned: false, summary: `${out}/metrics.jsonl was not written` };
  const epochs = readFileSync(metrics, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { val_acc1?: number; val_loss?: number })
    .filter((r) => r.val_acc1 !== undefined);
  const last = epochs.at(-1);
  if (!last) return { learned: false, summary: `${out}/metrics.jsonl has no validation record; a documented recipe needs a val/ folder` };
  const classes = readdirSync(join(cwd, data, 'train')).length;
  const chance = 100 / classes;
  const summary = `${out}: last val acc@1 ${last.val_acc1!.toFixed(2)}% (chance ${chance.toFixed(1)}%, needed ${(chance + 20).toFixed(1)}%), loss ${last.val_loss!.toFixed(4)} (chance ${Math.log(classes).toFixed(4)})`;
  return { learned: last.val_acc1! >= chance + 20 && last.val_loss! < Math.log(classes), summary };
}

/** Waits until `url` answers 200, or `ms` pass, or `alive()` turns false. */
async function waitFor(url: string, ms: number, alive: () => boolean): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until && alive()) {
    try {
      if ((await fetch(url)).status === 200) return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

/** Runs a `test-server` block: its first command in the background, the rest once `url` answers. */
async function runServerBlock(block: Block, cwd: string): Promise<DocFailure[]> {
  const url = block.attrs[1];
  const [server, ...clients] = shellCommands(block.text);
  const child = spawn('bash', ['-c', `exec 2>&1\nexec ${server}`], { cwd, env: ENV, detached: true });
  let output = '';
  let exited = false;
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.on('exit', () => (exited = true));
  const failures: DocFailure[] = [];
  const fail = (command: string, message: string) => failures.push({ file: block.file, line: block.line, command, message });
  try {
    if (!(await waitFor(url, 180_000, () => !exited))) fail(server, `${url} never answered 200: ${tail(output)}`);
    else
      for (const c of clients) {
        const r = sh(c, cwd, 120_000);
        if (r.status !== 0) fail(c, `exit ${r.status}: ${tail(r.output)}`);
      }
  } finally {
    if (!exited) {
      process.kill(-child.pid!, 'SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  }
  return failures;
}

/** Runs every runnable block of a document in `cwd`, in order; the failures, none when it works as written. */
export async function runBlocks(blocks: readonly Block[], cwd: string, log: (line: string) => void = () => {}): Promise<DocFailure[]> {
  const failures: DocFailure[] = [];
  for (const block of blocks) {
    const kind = block.attrs[0];
    const fail = (command: string, message: string) => failures.push({ file: block.file, line: block.line, command, message });
    if (kind === 'test' && block.lang === 'console') {
      for (const step of consoleSteps(block.text)) {
        log(`$ ${step.command}`);
        const r = sh(step.command, cwd, 300_000);
        const lines = r.output.trimEnd().split('\n');
        if (r.status !== 0) fail(step.command, `exit ${r.status}: ${tail(r.output)}`);
        else if (lines.length !== step.expected.length || !step.expected.every((e, i) => lineMatches(lines[i], e)))
          fail(step.command, `printed\n${r.output.trimEnd()}\nwhere the document shows\n${step.expected.join('\n')}`);
      }
    } else if (kind === 'test') {
      for (const c of shellCommands(block.text)) log(`$ ${c}`);
      const r = sh(withoutSetup(block.text), cwd, 600_000);
      if (r.status !== 0) fail(block.text.split('\n')[0], `exit ${r.status}: ${tail(r.output)}`);
      else
        for (const c of shellCommands(block.text).filter((c) => /flatten-vit train\b/.test(c))) {
          const l = learning(c, cwd);
          if (l) log(`${l.learned ? 'learned' : 'did not learn'}: ${l.summary}`);
          if (l && !l.learned) fail(c, `the run did not learn: ${l.summary}`);
        }
    } else if (kind === 'test-server') {
      log(`$ ${shellCommands(block.text).join(' ; ')}`);
      failures.push(...(await runServerBlock(block, cwd)));
    }
  }
  return failures;
}
