/**
 * Test helper: typechecks the TypeScript examples of the docs against the package's own types (the
 * built `dist/*.d.ts`, as a user's project sees them), each example a module of its own.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import { REPO } from '../helpers/fixtures.js';
import type { Block } from './markdown.js';

/** The type errors of the examples, each as `file:line: message`; empty when they all check. */
export function typecheckExamples(blocks: readonly Block[]): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'flatten-docs-ts-'));
  try {
    const errors: string[] = [];
    for (const browser of [false, true]) {
      const chosen = blocks.filter((b) => b.lang === 'ts' && b.attrs.includes('browser') === browser);
      const files = chosen.map((b, i) => {
        const path = join(dir, `${browser ? 'web' : 'node'}_${i}.ts`);
        const declare = b.declare ? `declare const ${b.declare.replace(/;\s*/g, ', ').replace(/,\s*$/, '')};\n` : '';
        // a module of its own even without imports; the declarations sit on the block's own first line
        writeFileSync(path, `${declare}${b.text}\nexport {};\n`);
        return { path, block: b, offset: declare ? 1 : 0 };
      });
      if (files.length === 0) continue;
      const program = ts.createProgram(
        files.map((f) => f.path),
        {
          target: ts.ScriptTarget.ES2022,
          module: ts.ModuleKind.ESNext,
          moduleResolution: ts.ModuleResolutionKind.Bundler,
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          lib: browser ? ['lib.es2022.d.ts', 'lib.dom.d.ts', 'lib.dom.iterable.d.ts'] : ['lib.es2022.d.ts'],
          types: browser ? [] : ['node'],
          typeRoots: [join(REPO, 'node_modules', '@types')],
          baseUrl: REPO,
          paths: { 'flatten-vit': [browser ? 'dist/web/index.d.ts' : 'dist/index.d.ts'] },
        },
      );
      for (const d of ts.getPreEmitDiagnostics(program)) {
        const f = files.find((x) => x.path === d.file?.fileName);
        const where = f && d.start !== undefined ? d.file!.getLineAndCharacterOfPosition(d.start).line - f.offset : 0;
        const at = f ? `${f.block.file}:${f.block.line + 1 + where}` : (d.file?.fileName ?? 'options');
        errors.push(`${at}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`);
      }
    }
    return errors;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
