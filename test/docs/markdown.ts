/**
 * Test helper: the fenced code blocks, links and heading anchors of a Markdown file, as the doc test
 * reads them.
 *
 * A block is runnable when its info string says so after the language:
 *   ```sh test                 every line runs, in order, in one bash (exit status 0 expected)
 *   ```console test            `$ command` lines run one by one; the lines after each are its expected
 *                              output (stdout and stderr), where `...` stands for any text
 *   ```sh test-server URL      the first command starts a server; the rest run once URL answers 200
 * A TypeScript block (```ts) is typechecked; `<!-- declare: name: Type; … -->` on the line before it
 * declares the free names the example uses (a `File` the user picked, say), and ```ts browser checks
 * it against the browser entry (blank lines may stand between the comment and the block).
 */

/** One fenced code block. */
export interface Block {
  readonly file: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  readonly lang: string;
  readonly attrs: readonly string[];
  readonly text: string;
  /** Declarations from a `<!-- declare: … -->` comment just before the block. */
  readonly declare?: string;
}

/** The fenced blocks of a Markdown document, in order. */
export function codeBlocks(md: string, file: string): Block[] {
  const lines = md.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(`{3,})(.*)$/.exec(lines[i]);
    if (!open) continue;
    const [lang = '', ...attrs] = open[2].trim().split(/\s+/).filter(Boolean);
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !lines[i].startsWith(open[1]); i++) body.push(lines[i]);
    let above = start - 1;
    while (above > 0 && lines[above].trim() === '') above--;
    const before = /^<!-- declare: (.*) -->$/.exec(lines[above] ?? '');
    blocks.push({ file, line: start + 1, lang, attrs, text: body.join('\n'), ...(before ? { declare: before[1] } : {}) });
  }
  return blocks;
}

/** A block's shell commands, with `\` continuations joined and comments and blank lines dropped. */
export function shellCommands(text: string): string[] {
  const out: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = current ? raw.trim() : raw;
    if (line.endsWith('\\')) {
      current += line.slice(0, -1) + ' ';
      continue;
    }
    const full = (current + line).trim();
    current = '';
    if (full && !full.startsWith('#')) out.push(full);
  }
  return out;
}

/** One `$ command` of a console block and the output shown after it. */
export interface ConsoleStep {
  readonly command: string;
  readonly expected: readonly string[];
}

/** The commands of a console block (a command may go on over `\\` line ends), each with the output lines shown under it. */
export function consoleSteps(text: string): ConsoleStep[] {
  const steps: { command: string; expected: string[] }[] = [];
  let continued = false;
  for (const line of text.split('\n')) {
    if (continued) steps.at(-1)!.command = `${steps.at(-1)!.command.slice(0, -1)} ${line.trim()}`;
    else if (line.startsWith('$ ')) steps.push({ command: line.slice(2).trim(), expected: [] });
    else if (steps.length > 0 && line.trim() !== '') steps.at(-1)!.expected.push(line);
    continued = line.trimEnd().endsWith('\\') && (continued || line.startsWith('$ '));
  }
  return steps;
}

/** Whether an output line matches a shown one, where `...` in the shown line stands for any text. */
export function lineMatches(actual: string, shown: string): boolean {
  const pattern = shown
    .trimEnd()
    .split('...')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${pattern}$`).test(actual.trimEnd());
}

/** A link of the document: where it points and the line it is on. */
export interface Link {
  readonly target: string;
  readonly line: number;
}

/** The relative links and images of a document, outside code blocks. */
export function relativeLinks(md: string): Link[] {
  const links: Link[] = [];
  let fenced = false;
  md.split('\n').forEach((line, i) => {
    if (/^`{3,}/.test(line)) fenced = !fenced;
    if (fenced) return;
    for (const m of line.replace(/`[^`]*`/g, '').matchAll(/!?\[[^\]]*\]\(([^)\s]+)\)/g)) {
      if (!/^[a-z]+:/i.test(m[1])) links.push({ target: m[1], line: i + 1 });
    }
  });
  return links;
}

/** The anchors GitHub gives a document's headings (`## Train a model` → `train-a-model`). */
export function headingAnchors(md: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of md.split('\n')) {
    if (/^`{3,}/.test(line)) fenced = !fenced;
    const h = fenced ? null : /^#{1,6}\s+(.*)$/.exec(line);
    if (!h) continue;
    const slug = h[1]
      .trim()
      .toLowerCase()
      .replace(/<[^>]*>/g, '')
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return anchors;
}

/** A figure of a document: the image and the paragraph under it, its caption. */
export interface Figure {
  readonly target: string;
  readonly line: number;
  readonly caption: string;
}

/** The images of a document (`![…](…)` alone on a line) with their captions. */
export function figures(md: string): Figure[] {
  const lines = md.split('\n');
  const out: Figure[] = [];
  lines.forEach((line, i) => {
    const m = /^!\[[^\]]*\]\(([^)\s]+)\)\s*$/.exec(line);
    if (!m) return;
    let j = i + 1;
    while (j < lines.length && lines[j].trim() === '') j++;
    const caption: string[] = [];
    for (; j < lines.length && lines[j].trim() !== '' && !lines[j].startsWith('```'); j++) caption.push(lines[j]);
    out.push({ target: m[1], line: i + 1, caption: caption.join(' ') });
  });
  return out;
}
