/**
 * Regenerates the pictures of docs/paper.md with flatten-vit's own tools, on the reference fixtures
 * (`npx tsx scripts/docs-figures.ts`). With a released checkpoint, the same calls give the paper's
 * figures for a trained model.
 */
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blockAttention, KINDS } from '../src/analysis/attention.js';
import { Canvas, encodePng, heatmap } from '../src/analysis/draw.js';
import { drawFocusingFunction } from '../src/analysis/focusing.js';
import { numericalRank } from '../src/analysis/rank.js';
import { focusMaps, imageInput } from '../src/analysis/report.js';
import { FlattenModel } from '../src/model.js';

const fixtures = process.env.FLATTEN_FIXTURES ?? join('..', 'shared', 'fixtures');
const out = join('docs', 'img');

copyFileSync(drawFocusingFunction(mkdtempSync(join(tmpdir(), 'fp-'))), join(out, 'fp.png'));

const sel = { stage: 1, block: 1, head: 0, window: 5 };
const model = await FlattenModel.load(join(fixtures, 'swin_mini', 'config.json'), join(fixtures, 'swin_mini', 'checkpoint.pth'), {
  probe: 'stage1.block1',
});
const att = await blockAttention(model, imageInput(join(fixtures, 'images', 'chelsea.png'), 224, true).tensor, sel);
await model.dispose();
const scale = 2;
const cell = att.tokens * scale;
const sheet = new Canvas(KINDS.length * (cell + 16) + 16, cell + 60);
for (const [i, kind] of KINDS.entries()) {
  const a = att.kinds[kind]!;
  const { rank } = await numericalRank(a);
  const img = heatmap(a.matrix.data, a.matrix.rows, a.matrix.cols);
  const big = new Canvas(cell, cell);
  for (let y = 0; y < cell; y++)
    for (let x = 0; x < cell; x++)
      big.set(x, y, [...img.data.subarray(((y >> 1) * img.width + (x >> 1)) * 3, ((y >> 1) * img.width + (x >> 1)) * 3 + 3)] as [
        number,
        number,
        number,
      ]);
  sheet.blit(big.image(), 16 + i * (cell + 16), 44);
  sheet.label(`${kind.replace('_', '+')}: rank ${rank}/${att.tokens}`, 16 + i * (cell + 16) + cell / 2, 14);
}
writeFileSync(join(out, 'rank.png'), encodePng(sheet.image()));

const focus = await focusMaps(
  { arch: join(fixtures, 'cswin_mini', 'config.json'), checkpoint: join(fixtures, 'cswin_mini', 'checkpoint.pth') },
  join(fixtures, 'images', 'chelsea.png'),
  { stage: 1, block: 0, head: 0 },
  { queries: 2, outDir: mkdtempSync(join(tmpdir(), 'focus-')) },
);
copyFileSync(focus[focus.length - 1], join(out, 'focus.png'));
console.log('wrote docs/img/fp.png, rank.png, focus.png');
