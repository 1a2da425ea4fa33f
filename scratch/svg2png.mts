import { readFileSync, writeFileSync } from 'node:fs';
import { Resvg } from '@resvg/resvg-js';
for (const f of process.argv.slice(2)) writeFileSync(`/tmp/${f.split('/').pop()}.png`, new Resvg(readFileSync(f, 'utf8'), { font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' } }).render().asPng());
