/**
 * Regenerates the figures of docs/paper.md with flatten-vit's own commands, printing each one (the
 * captions in docs/paper.md name them):
 *
 *   npm run example:mnist          # first: trains the model the rank and focus figures show
 *   npx tsx scripts/docs-figures.ts
 *
 * The rank and focus figures show a property of trained models, so they use the four-stage
 * FLatten-PVTv2 the MNIST example trains (examples/mnist_model.json: stage 1 has 8×8 = 64 tokens and
 * heads of dimension 32, fewer than the tokens, which is when linear attention loses rank) on a
 * test digit it never trained on.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CHECKPOINT = process.argv[2] ?? 'runs/mnist/run/max_acc.pth';
if (!existsSync(CHECKPOINT)) {
  console.error(
    `docs-figures: ${CHECKPOINT} is missing; run npm run example:mnist first (or give a checkpoint of examples/mnist_model.json)`,
  );
  process.exit(1);
}
const MODEL = ['--arch', 'examples/mnist_model.json', '--checkpoint', CHECKPOINT];
const DIGIT = 'examples/digits/val/3/000.png';
const CAPTION = ['--caption', 'FLatten-PVTv2 trained on MNIST by npm run example:mnist; a test digit; stage 1, block 1, head 0'];

function run(args: string[]): void {
  console.log(`$ npx flatten-vit ${args.join(' ')}`);
  const r = spawnSync('node', ['dist/cli/bin.js', ...args], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

run(['analyze', 'fp', '--out', 'docs/img']);
run(['analyze', 'rank', ...MODEL, '--image', DIGIT, '--stage', '1', '--block', '1', '--head', '0', '--out', 'docs/img', ...CAPTION]);
const focus = mkdtempSync(join(tmpdir(), 'focus-'));
run([
  'analyze',
  'focus',
  ...MODEL,
  '--image',
  DIGIT,
  '--stage',
  '1',
  '--block',
  '1',
  '--head',
  '0',
  '--queries',
  '3',
  '--out',
  focus,
  ...CAPTION,
]);
copyFileSync(join(focus, 'focus.svg'), join('docs', 'img', 'focus.svg'));
console.log('wrote docs/img/fp.svg, rank.svg, focus.svg');
