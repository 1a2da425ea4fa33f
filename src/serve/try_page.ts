/**
 * `GET /`: one page to try the server by hand: pick images, see their top-5 from `/v1/classify`.
 */
/** The page, with the served models to choose from. */
export function tryPage(models: readonly string[]): string {
  const options = models.map((m) => `<option>${m.replace(/[<>&"]/g, '')}</option>`).join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>flatten-vit serve</title>
<style>
body { font: 15px system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
code { background: #f3f3f3; padding: 0 .25rem; }
.result { display: flex; gap: 1rem; align-items: flex-start; margin: 1rem 0; }
.result img { width: 112px; height: 112px; object-fit: cover; border-radius: 4px; }
.error { color: #b00020; }
table { border-collapse: collapse; } td { padding: .1rem .6rem .1rem 0; }
</style>
</head>
<body>
<h1>flatten-vit serve</h1>
<p>Pick PNG or JPEG images: they are sent to <code>POST /v1/classify</code> (the official evaluation transform) and their five best classes are shown.
The Open Inference Protocol is at <code>/v2</code>, metrics at <a href="/metrics"><code>/metrics</code></a>.</p>
<p><label>Model <select id="model">${options}</select></label> <input id="files" type="file" accept="image/png,image/jpeg" multiple></p>
<div id="out"></div>
<script>
const out = document.getElementById('out');
const select = document.getElementById('model');
document.getElementById('files').addEventListener('change', async (ev) => {
  out.textContent = 'classifying…';
  const form = new FormData();
  const files = [...ev.target.files];
  for (const f of files) form.append('image', f, f.name);
  const r = await fetch('/v1/classify?model=' + encodeURIComponent(select.value), { method: 'POST', body: form });
  const j = await r.json();
  out.textContent = '';
  if (!r.ok) { const p = document.createElement('p'); p.className = 'error'; p.textContent = j.error; out.append(p); return; }
  j.forEach((res, i) => {
    const row = document.createElement('div'); row.className = 'result';
    const img = document.createElement('img'); img.src = URL.createObjectURL(files[i]); img.alt = res.file;
    const table = document.createElement('table');
    for (const t of res.top) {
      const tr = table.insertRow();
      tr.insertCell().textContent = (t.score * 100).toFixed(2) + '%';
      tr.insertCell().textContent = t.label + ' (' + t.index + ')';
    }
    row.append(img, table); out.append(row);
  });
});
</script>
</body>
</html>
`;
}
