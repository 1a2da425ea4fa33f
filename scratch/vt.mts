import * as vega from 'vega';
import { compile } from 'vega-lite';
import { writeFileSync } from 'node:fs';
import { encodePng, heatmap } from '/work/main/src/analysis/draw.ts';
const n = 64;
const vals = Float64Array.from({ length: n * n }, (_, i) => Math.random() / 50);
const png = encodePng(heatmap(vals, n, n));
const url = 'data:image/png;base64,' + Buffer.from(png).toString('base64');
const spec: any = {
  hconcat: [0, 1].map((k) => ({
    title: `softmax: rank ${k}/64`,
    width: 200, height: 200,
    layer: [
      { data: { values: [{ x: 0, y: 0, url }] }, mark: { type: 'image', width: 200, height: 200, align: 'left', baseline: 'top', aspect: false },
        encoding: { x: { field: 'x', type: 'quantitative', scale: { domain: [0, n] }, title: 'key token' }, y: { field: 'y', type: 'quantitative', scale: { domain: [0, n], reverse: true }, title: 'query token' }, url: { field: 'url', type: 'nominal' } } },
      { data: { values: [{ v: 0 }, { v: 0.1 }] }, mark: { type: 'point', opacity: 0 }, encoding: { color: { field: 'v', type: 'quantitative', scale: { scheme: 'blues', domain: [0, 0.1] }, title: 'weight' } } },
    ],
  })),
};
const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
const svg = await view.toSVG();
writeFileSync('/tmp/vt.svg', svg);
const { Resvg } = await import('@resvg/resvg-js');
const r = new Resvg(svg, { font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' }, fitTo: { mode: 'zoom', value: 2 } });
writeFileSync('/tmp/vt.png', r.render().asPng());
console.log(svg.length);
