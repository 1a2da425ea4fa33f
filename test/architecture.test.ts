import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from './helpers/fixtures.js';

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

const imports = (file: string) => [...readFileSync(file, 'utf8').matchAll(/^(?:import|export)[^'"]*from '([^']+)'/gm)].map((m) => m[1]);

describe('source layout', () => {
  it('only the runtime folder imports onnxruntime', () => {
    const offenders = [...sources(join(REPO, 'src')), ...sources(join(REPO, 'web'))]
      .filter((f) => !relative(REPO, f).startsWith(join('src', 'runtime')))
      .filter((f) => imports(f).some((m) => m.startsWith('onnxruntime')));
    expect(offenders.map((f) => relative(REPO, f))).toEqual([]);
  });

  it('browser code never reaches a Node module through its imports', () => {
    const seen = new Set<string>();
    const nodeOnly: string[] = [];
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const m of imports(file)) {
        if (m.startsWith('node:')) nodeOnly.push(`${relative(REPO, file)} imports ${m}`);
        else if (m.startsWith('.')) visit(join(file, '..', m.replace(/\.js$/, '.ts')));
      }
    };
    for (const entry of ['src/web/index.ts', 'web/main.ts', 'web/worker.ts']) visit(join(REPO, entry));
    expect(seen.size).toBeGreaterThan(40);
    expect(nodeOnly).toEqual([]);
  });
});
