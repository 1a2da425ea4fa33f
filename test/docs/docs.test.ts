/**
 * The doc test (`npm run test:docs`): every runnable block of README.md and docs/*.md runs as written
 * from a sandbox beside the fixtures, every TypeScript example typechecks against the built package's
 * types, every relative link and anchor resolves, and a README with a misspelled command fails.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { REPO } from '../helpers/fixtures.js';
import { type Block, codeBlocks, figures, headingAnchors, relativeLinks } from './markdown.js';
import { type DocFailure, learning, makeSandbox, runBlocks } from './run.js';
import { typecheckExamples } from './typecheck.js';

const DOCS = [
  'README.md',
  ...readdirSync(join(REPO, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
  'CONTRIBUTING.md',
  'SECURITY.md',
  'CHANGELOG.md',
];
const read = (doc: string) => readFileSync(join(REPO, doc), 'utf8');
const runnable = (b: Block) => b.attrs[0] === 'test' || b.attrs[0] === 'test-server';
const report = (failures: readonly DocFailure[]) =>
  failures.map((f) => `${f.file}:${f.line}: ${f.command}\n  ${f.message.replace(/\n/g, '\n  ')}`).join('\n');

describe('the docs', () => {
  test('the README is a front page: at most 150 lines, the two commands first, one section per task', () => {
    const readme = read('README.md');
    const lines = readme.trimEnd().split('\n');
    console.log(`[docs] README.md: ${lines.length} lines`);
    expect(lines.length).toBeLessThanOrEqual(150);
    const first = codeBlocks(readme, 'README.md')[0];
    expect(first.text.split('\n')).toEqual([expect.stringContaining('flatten-vit classify'), 'npm test']);
    for (const h of [
      '## Install',
      '## Classify',
      '## Train and evaluate',
      '## In the browser',
      '## Serve',
      '## Export',
      '## Models',
      '## Guides',
    ])
      expect(lines).toContain(h);
  });

  test('every relative link and anchor resolves', () => {
    const broken: string[] = [];
    for (const doc of DOCS) {
      for (const { target, line } of relativeLinks(read(doc))) {
        const [path, anchor] = target.split('#');
        const file = path ? resolve(dirname(join(REPO, doc)), decodeURIComponent(path)) : join(REPO, doc);
        if (!existsSync(file)) broken.push(`${doc}:${line}: ${target} (no such file)`);
        else if (anchor && file.endsWith('.md') && !headingAnchors(readFileSync(file, 'utf8')).has(anchor))
          broken.push(`${doc}:${line}: ${target} (no heading #${anchor} in ${relative(REPO, file)})`);
      }
    }
    expect(broken.join('\n')).toBe('');
  });

  test('every figure names, under it, the command that made it', () => {
    const unnamed: string[] = [];
    let count = 0;
    for (const doc of DOCS)
      for (const f of figures(read(doc))) {
        count++;
        if (!/`(npx|npm run) [^`]+`/.test(f.caption))
          unnamed.push(`${doc}:${f.line}: ${f.target} has no \`npx …\` or \`npm run …\` in its caption`);
      }
    expect(count).toBeGreaterThan(4);
    expect(unnamed.join('\n')).toBe('');
  });

  test('every TypeScript example typechecks against the package', () => {
    const blocks = DOCS.flatMap((doc) => codeBlocks(read(doc), doc));
    const examples = blocks.filter((b) => b.lang === 'ts');
    console.log(`[docs] ${examples.length} TypeScript examples in ${DOCS.length} documents`);
    expect(examples.length).toBeGreaterThan(5);
    expect(typecheckExamples(blocks).join('\n')).toBe('');
  });

  // each document in a sandbox of its own, as a reader follows one guide from a fresh checkout
  describe('documented commands work as written', () => {
    for (const doc of DOCS) {
      const blocks = codeBlocks(read(doc), doc).filter(runnable);
      test.runIf(blocks.length > 0)(`${doc}: ${blocks.length} runnable block(s)`, async () => {
        const box = makeSandbox();
        try {
          const started = performance.now();
          const failures = await runBlocks(blocks, box.cwd, (line) => console.log(`[docs] ${doc}: ${line}`));
          console.log(`[docs] ${doc}: ${blocks.length} block(s) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
          expect(report(failures)).toBe('');
        } finally {
          box.dispose();
        }
      });
    }
  });

  test('a README whose first classify command is misspelled, or whose shown output drifts, fails', async () => {
    const readme = read('README.md');
    const first = codeBlocks(readme, 'README.md').find((b) => runnable(b) && b.text.includes('flatten-vit classify'));
    expect(first).toBeDefined();
    const misspelled = codeBlocks(readme.replace('flatten-vit classify', 'flatten-vit clasify'), 'README.md').find(
      (b) => runnable(b) && b.line === first!.line,
    )!;
    const shown = codeBlocks(readme, 'README.md').find((b) => b.lang === 'console' && runnable(b) && /^\s+\d+\.\d+%/m.test(b.text));
    expect(shown).toBeDefined();
    const drifted = { ...shown!, text: shown!.text.replace(/^(\s+)\d+\.\d+%/m, '$199.99%') };
    const box = makeSandbox();
    try {
      const failures = await runBlocks([misspelled, drifted], box.cwd);
      console.log(`[docs] deliberately broken README:\n${report(failures)}`);
      expect(failures.map((f) => f.line)).toEqual([first!.line, shown!.line]);
      expect(failures[0].message).toMatch(/clasify/);
      expect(failures[1].message).toMatch(/where the document shows/);
    } finally {
      box.dispose();
    }
  });

  test('a documented training run that stays at chance fails, as the linear probe that learned nothing would have', () => {
    const dir = mkdtempSync(join(tmpdir(), 'flatten-docs-learn-'));
    try {
      for (const c of ['a', 'b', 'c']) mkdirSync(join(dir, 'data', 'train', c), { recursive: true });
      mkdirSync(join(dir, 'out'));
      const command = 'npx flatten-vit train --arch x.json --data data --out out --freeze backbone';
      const write = (acc: number, loss: number) =>
        writeFileSync(
          join(dir, 'out', 'metrics.jsonl'),
          `{"epoch":0,"step":0,"loss":1.1}\n{"epoch":0,"val_acc1":${acc},"val_loss":${loss}}\n`,
        );
      write(33.33, 1.0986);
      expect(learning(command, dir)).toMatchObject({ learned: false });
      write(70.83, 0.6486);
      expect(learning(command, dir)).toMatchObject({ learned: true });
      write(70.83, 1.2);
      expect(learning(command, dir)?.learned).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
