import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readNpy } from '../../src/io/npy.js';
import { cli, expectCleanFailure } from '../helpers/cli.js';
import { fixture } from '../helpers/fixtures.js';
import { hostileCorpus } from './corpus.js';

const dir = mkdtempSync(join(tmpdir(), 'flatten-hostile-'));
const corpus = hostileCorpus(dir);

function command(f: (typeof corpus)[number], out: string): string[] {
  if (f.role === 'image') return ['preprocess', f.file, '--size', '224', '--save', out];
  const input = f.role === 'input' ? f.file : fixture('pvt_mini', 'input.npy');
  const ckpt = f.role === 'checkpoint' ? f.file : fixture('pvt_mini', 'checkpoint.pth');
  return [
    'predict',
    '--arch',
    fixture('pvt_mini', 'config.json'),
    '--checkpoint',
    ckpt,
    '--input',
    input,
    '--save-logits',
    out,
    '--threads',
    '1',
  ];
}

describe('the hostile-file corpus, through the CLI', () => {
  it.each(corpus.map((f) => [f.name, f] as const))('%s', (_, f) => {
    writeFileSync(f.file, f.bytes());
    const out = `${f.file}.out.npy`;
    const before = readdirSync(dir).length;
    const r = cli(command(f, out));
    if (f.error) {
      const line = expectCleanFailure(r);
      expect(line).toMatch(f.error);
      expect(existsSync(out)).toBe(false);
    } else {
      expect(r.status).toBe(0);
      expect(r.stderr).not.toMatch(/^\s+at /m);
      expect(existsSync(out)).toBe(true);
    }
    expect(readdirSync(dir).filter((n) => n.startsWith('pwned'))).toEqual([]);
    expect(readdirSync(dir).length).toBe(before + (f.error ? 0 : 1));
  });

  it('NaN and Inf weights give warnings, not a crash', () => {
    const f = corpus.find((c) => c.name === 'NaN and Inf weights')!;
    writeFileSync(f.file, f.bytes());
    const out = `${f.file}.warn.npy`;
    const r = cli(command(f, out));
    expect(r.status).toBe(0);
    expect(r.stderr.trim()).toMatch(
      /^flatten-vit: warning: .*head\.weight has 3 non-finite value\(s\) \(NaN or Inf\); outputs may be NaN$/,
    );
    expect(Number.isNaN(readNpy(out).data[0])).toBe(true);
  });
});
