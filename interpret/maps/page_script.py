"""The JavaScript and CSS of the shareable page (:mod:`interpret.maps.page`), as strings.

Plain JavaScript (ES2017), no library, no network. The page reads its data from one JSON
script element: coordinates as base64 ``uint16`` arrays, categories as ``uint8``/``uint16``
codes, values as ``float32``, neighbours as a little-endian bit stream, and
texts as raw-deflate blocks that ``DecompressionStream`` inflates when a text is first needed
(hover, click, search). Points are drawn into a canvas ``ImageData`` (a million in well under
a second); labels and rings are drawn over it. Every string from the data reaches the DOM
through ``textContent`` or the canvas, never through HTML parsing, so a text such as
``<img src=x onerror=...>`` shows as typed and runs nothing.

``window.embedlens`` is a small API for tests and for readers' own scripts: ``ready``,
``search(q)`` (a promise of the matching rows), ``click(i)``, ``toScreen(i)``, ``state``,
``report()``.
"""

from __future__ import annotations

STYLE = """
:root { --bg: #ffffff; --panel: #f4f5f7; --text: #1a1a1a; --muted: #5c6470; --line: #e3e6ea;
  --accent: #0072B2; --halo: rgba(255,255,255,0.8); --hi: #000000; }
:root[data-theme="dark"] { --bg: #111418; --panel: #1b2027; --text: #e8e8e8; --muted: #a3acb8;
  --line: #2a3039; --accent: #56B4E9; --halo: rgba(17,20,24,0.8); --hi: #ffffff; }
* { box-sizing: border-box; }
html, body { margin: 0; height: 100%; background: var(--bg); color: var(--text);
  font: 13px/1.35 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
#app { display: flex; flex-direction: column; height: 100vh; }
header { display: flex; gap: 10px; align-items: center; padding: 6px 10px;
  border-bottom: 1px solid var(--line); flex-wrap: wrap; }
header h1 { font-size: 15px; margin: 0 8px 0 0; font-weight: 600; }
header input[type=search] { width: 280px; padding: 4px 8px; border: 1px solid var(--line);
  border-radius: 4px; background: var(--bg); color: var(--text); }
header select { padding: 3px; background: var(--bg); color: var(--text);
  border: 1px solid var(--line); border-radius: 4px; }
header .count { color: var(--muted); }
main { flex: 1; display: flex; min-height: 0; }
#stage { flex: 1; position: relative; min-width: 0; }
#map { position: absolute; inset: 0; width: 100%; height: 100%; cursor: crosshair; }
#tip { position: absolute; pointer-events: none; max-width: 420px; padding: 6px 8px;
  background: var(--panel); border: 1px solid var(--line); border-radius: 4px;
  box-shadow: 0 2px 6px rgba(0,0,0,0.2); white-space: pre-wrap; display: none; z-index: 5; }
#tip b { display: block; margin-bottom: 2px; }
aside { width: 380px; min-width: 0; overflow-y: auto; overflow-x: hidden;
  border-left: 1px solid var(--line); background: var(--panel); padding: 6px 10px; }
aside section[hidden] { display: none; }
aside h2 { font-size: 13px; margin: 12px 0 4px; text-transform: uppercase; letter-spacing: .04em;
  color: var(--muted); }
aside table { width: 100%; border-collapse: collapse; font-size: 12px; table-layout: fixed; }
aside td, aside th { text-align: left; vertical-align: top; padding: 2px 4px;
  border-bottom: 1px solid var(--line); }
/* columns have set widths (the text takes the rest) and cells wrap anywhere (an e-mail
   address, a long id), so no table is wider than the sidebar */
aside td { overflow-wrap: break-word; hyphens: auto; }
aside div { overflow-wrap: anywhere; }
aside th { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
aside tr.row { cursor: pointer; }
aside tr.row:hover { background: var(--line); }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px;
  margin-right: 4px; vertical-align: middle; }
.muted { color: var(--muted); }
.filters label { display: block; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.note { color: var(--muted); font-size: 12px; margin: 4px 0; }
button { font: inherit; padding: 2px 8px; border: 1px solid var(--line); border-radius: 4px;
  background: var(--bg); color: var(--text); cursor: pointer; }
.help { color: var(--muted); font-size: 12px; }
@media (max-width: 720px) {
  html, body { height: auto; }
  #app { height: auto; min-height: 100vh; }
  header input[type=search] { width: 100%; }
  main { flex-direction: column; flex: none; }
  #stage { flex: none; height: 65vh; min-height: 260px; }
  aside { width: auto; overflow: visible; border-left: none; border-top: 1px solid var(--line); }
}
"""

SCRIPT = r"""
(function () {
'use strict';
var D = JSON.parse(document.getElementById('embedlens-data').textContent);
var N = D.n;
var api = window.embedlens = {ready: false, state: null, errors: []};

function bytes(b64) {
  var s = atob(b64), n = s.length, u = new Uint8Array(n);
  for (var i = 0; i < n; i++) u[i] = s.charCodeAt(i);
  return u;
}
function el(tag, text, cls) {
  var e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}
function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
function hexRgb(h) { var v = parseInt(h.slice(1), 16); return [(v >> 16) & 255, (v >> 8) & 255, v & 255]; }
function pack(rgb) { return ((255 << 24) | (rgb[2] << 16) | (rgb[1] << 8) | rgb[0]) >>> 0; }
function mix(a, b, t) { return [0, 1, 2].map(function (j) { return Math.round(a[j] * (1 - t) + b[j] * t); }); }
function codesOf(c) { var u = bytes(c.data); return c.width === 2 ? new Uint16Array(u.buffer) : u; }

// ------------------------------------------------------------------ data
var U = new Float32Array(N), V = new Float32Array(N);
(function () {
  var qx = new Uint16Array(bytes(D.x).buffer), qy = new Uint16Array(bytes(D.y).buffer);
  for (var i = 0; i < N; i++) { U[i] = qx[i] / 65535; V[i] = qy[i] / 65535; }
})();
var columns = D.columns.map(function (c) {
  var out = {name: c.name, kind: c.kind, spec: c};
  if (c.kind === 'category') {
    out.codes = codesOf(c);
    out.colors = c.colors.map(hexRgb);
  } else {
    out.values = new Float32Array(bytes(c.data).buffer);
  }
  return out;
});
var neighbors = D.neighbors ? {k: D.neighbors.k, bits: D.neighbors.bits, raw: bytes(D.neighbors.data)} : null;
function neighborsOf(i) {
  // index j of the bit stream: bits j*b ... j*b+b-1, little-endian (float arithmetic: exact)
  if (!neighbors) return [];
  var out = [], k = neighbors.k, b = neighbors.bits, raw = neighbors.raw;
  for (var j = 0; j < k; j++) {
    var o = (i * k + j) * b, at = Math.floor(o / 8), shift = o % 8, v = 0, scale = 1;
    for (var t = 0; t < 5 && at + t < raw.length; t++) { v += raw[at + t] * scale; scale *= 256; }
    out.push(Math.floor(v / Math.pow(2, shift)) % Math.pow(2, b));
  }
  return out;
}

// ------------------------------------------------------------------ texts (inflated on demand)
var canInflate = typeof DecompressionStream !== 'undefined';
function Store(spec) {
  this.spec = spec; this.cache = new Map(); this.pending = new Map();
}
Store.prototype.block = function (b) {
  var self = this;
  if (this.cache.has(b)) return Promise.resolve(this.cache.get(b));
  if (this.pending.has(b)) return this.pending.get(b);
  if (!canInflate) return Promise.resolve(null);
  var stream = new Blob([bytes(this.spec.blocks[b])]).stream()
    .pipeThrough(new DecompressionStream('deflate-raw'));
  var p = new Response(stream).text().then(function (t) {
    var lines = t.split('\n');
    self.pending.delete(b);
    self.cache.set(b, lines);
    if (self.cache.size > 400) self.cache.delete(self.cache.keys().next().value);
    return lines;
  });
  this.pending.set(b, p);
  return p;
};
Store.prototype.get = function (i) {
  var per = this.spec.per_block;
  return this.block(Math.floor(i / per)).then(function (lines) {
    return lines === null ? '(this browser cannot inflate texts: it lacks DecompressionStream)' : lines[i % per];
  });
};
var texts = D.texts ? new Store(D.texts) : null;
var ids = D.ids ? new Store(D.ids) : null;
function nameOf(i) { return ids ? ids.get(i) : Promise.resolve('#' + i); }
function textOf(i) { return texts ? texts.get(i) : Promise.resolve(''); }

// ------------------------------------------------------------------ state and view
var root = document.documentElement;
var canvas = document.getElementById('map'), ctx = canvas.getContext('2d');
var stage = document.getElementById('stage'), tip = document.getElementById('tip');
var bg = hexRgb(D.theme.background), grey = hexRgb(D.grey);
var S = 1, OX = 0, OY = 0;
var state = api.state = {color: null, hidden: {}, matches: null, matchList: [], query: '',
  clicked: null, neighbors: [], selection: [], showNames: true, drawn: 0};
var colorSelect = document.getElementById('color-by');
columns.forEach(function (c, j) { var o = el('option', c.name); o.value = String(j); colorSelect.appendChild(o); });
var none = el('option', '(none)'); none.value = '-1'; colorSelect.appendChild(none);
state.color = columns.length ? (D.default_color >= 0 ? D.default_color : 0) : -1;
colorSelect.value = String(state.color);

function fit() {
  var W = canvas.width, H = canvas.height, m = 24;
  S = Math.max(10, Math.min(W, H) - 2 * m);
  OX = (W - S) / 2; OY = (H - S) / 2;
}
function sx(u) { return u * S + OX; }
function sy(v) { return (1 - v) * S + OY; }
function toU(px) { return (px - OX) / S; }
function toV(py) { return 1 - (py - OY) / S; }
api.toScreen = function (i) {
  var r = canvas.getBoundingClientRect();
  return {x: r.left + sx(U[i]), y: r.top + sy(V[i])};
};

var viridis = ['#440154', '#3b528b', '#21918c', '#5ec962', '#fde725'].map(hexRgb);
function ramp(t) {
  t = Math.max(0, Math.min(1, t)) * 4; var j = Math.min(3, Math.floor(t));
  return mix(viridis[j], viridis[j + 1], t - j);
}
function visible(i) {
  var c = columns[state.color];
  return !(c && c.kind === 'category' && state.hidden[c.codes[i]]);
}
function colorOf(i) {
  var c = columns[state.color];
  if (!c) return hexRgb(D.theme.accent);
  if (c.kind === 'category') return c.colors[c.codes[i]];
  var v = c.values[i];
  if (!isFinite(v)) return grey;
  return ramp((v - c.spec.min) / ((c.spec.max - c.spec.min) || 1));
}

// ------------------------------------------------------------------ drawing
function pointSize() {
  var base = N > 200000 ? 1 : N > 20000 ? 2 : N > 2000 ? 3 : 5;
  var zoom = S / Math.max(1, Math.min(canvas.width, canvas.height));
  return Math.max(1, Math.min(8, Math.round(base * Math.sqrt(Math.max(1, zoom)))));
}
function draw() {
  var W = canvas.width, H = canvas.height;
  if (!W || !H) return;
  var img = ctx.createImageData(W, H), buf = new Uint32Array(img.data.buffer);
  buf.fill(pack(bg));
  var size = pointSize(), half = size >> 1, drawn = 0;
  var c = columns[state.color], cache = {}, fade = state.matches !== null;
  for (var i = 0; i < N; i++) {
    if (!visible(i)) continue;
    var px = (U[i] * S + OX) | 0, py = ((1 - V[i]) * S + OY) | 0;
    if (px < 0 || py < 0 || px >= W || py >= H) continue;
    var faded = fade && !state.matches[i];
    var key = c ? (c.kind === 'category' ? c.codes[i] : Math.round(255 * (c.values[i] - c.spec.min) / ((c.spec.max - c.spec.min) || 1))) : 0;
    if (!isFinite(key)) key = -1;
    var ck = faded ? 'f' + key : key, col = cache[ck];
    if (col === undefined) {
      var rgb = colorOf(i);
      col = cache[ck] = pack(faded ? mix(rgb, bg, 0.82) : rgb);
    }
    drawn++;
    for (var dy = -half; dy < size - half; dy++) {
      var yy = py + dy; if (yy < 0 || yy >= H) continue;
      var row = yy * W;
      for (var dx = -half; dx < size - half; dx++) {
        var xx = px + dx; if (xx >= 0 && xx < W) buf[row + xx] = col;
      }
    }
  }
  ctx.putImageData(img, 0, 0);
  state.drawn = drawn;
  overlays();
}
function ring(i, r, color, width) {
  ctx.beginPath(); ctx.arc(sx(U[i]), sy(V[i]), r, 0, 2 * Math.PI);
  ctx.lineWidth = width; ctx.strokeStyle = color; ctx.stroke();
}
function label(text, x, y, size) {
  ctx.font = '600 ' + size + 'px system-ui, sans-serif';
  ctx.textAlign = 'center'; ctx.textBaseline = 'middle';
  ctx.lineWidth = 4; ctx.strokeStyle = D.theme.halo; ctx.strokeText(text, x, y);
  ctx.fillStyle = D.theme.text; ctx.fillText(text, x, y);
}
function overlays() {
  var hi = getComputedStyle(root).getPropertyValue('--hi').trim() || '#000';
  if (state.matches !== null) {
    var list = state.matchList;
    for (var j = 0; j < Math.min(list.length, 3000); j++) if (visible(list[j])) ring(list[j], 5, hi, 1.5);
  }
  state.selection.slice(0, 3000).forEach(function (i) { ring(i, 4, D.theme.accent, 1); });
  if (state.clicked !== null) {
    var i0 = state.clicked;
    ctx.setLineDash([3, 3]); ctx.lineWidth = 1; ctx.strokeStyle = hi;
    state.neighbors.forEach(function (j) {
      ctx.beginPath(); ctx.moveTo(sx(U[i0]), sy(V[i0])); ctx.lineTo(sx(U[j]), sy(V[j])); ctx.stroke();
    });
    ctx.setLineDash([]);
    state.neighbors.forEach(function (j) { ring(j, 5, '#D55E00', 2); });
    ring(i0, 8, hi, 2.5);
  }
  if (D.cells) D.cells.forEach(function (cell) {
    var x = sx(cell.u), y = sy(cell.v);
    ctx.beginPath(); ctx.moveTo(x, y - 6); ctx.lineTo(x + 6, y); ctx.lineTo(x, y + 6); ctx.lineTo(x - 6, y); ctx.closePath();
    ctx.setLineDash([2, 2]); ctx.lineWidth = 1.2; ctx.strokeStyle = D.theme.muted; ctx.stroke(); ctx.setLineDash([]);
  });
  if (state.showNames && D.clusters) {
    // largest clusters first; a name that would overlap one already drawn is left out
    // (zoom in to see it), as datamapplot and Embedding Atlas do
    var boxes = [];
    ctx.font = '600 12px system-ui, sans-serif';
    D.clusters.items.forEach(function (c) {
      var w = ctx.measureText(c.name).width + 6, h = 16;
      // kept inside the canvas: a name near an edge slides in rather than being cut
      var x = Math.max(w / 2, Math.min(canvas.width - w / 2, sx(c.u))), y = sy(c.v);
      var box = [x - w / 2, y - h / 2, x + w / 2, y + h / 2];
      var clash = boxes.some(function (b) { return box[0] < b[2] && b[0] < box[2] && box[1] < b[3] && b[1] < box[3]; });
      if (clash) return;
      boxes.push(box);
      label(c.name, x, y, 12);
    });
  }
  if (drag && drag.box) {
    ctx.lineWidth = 1; ctx.strokeStyle = D.theme.accent; ctx.setLineDash([4, 3]);
    ctx.strokeRect(drag.x0, drag.y0, drag.x - drag.x0, drag.y - drag.y0); ctx.setLineDash([]);
  }
}
var frame = 0, fitted = false;
function redraw() {
  // the next animation frame, or a timer where frames do not come (hidden tabs, headless dumps)
  if (frame) return;
  frame = 1;
  var run = function () { if (frame) { frame = 0; draw(); } };
  requestAnimationFrame(run); setTimeout(run, 100);
}
function resize() {
  var r = stage.getBoundingClientRect();
  var W = Math.max(50, Math.floor(r.width)), H = Math.max(50, Math.floor(r.height));
  canvas.width = W; canvas.height = H;
  if (!fitted) { fit(); fitted = true; }
  draw();
}

// ------------------------------------------------------------------ picking (grid index)
var G = Math.max(16, Math.min(1024, Math.round(Math.sqrt(N / 4))));
var cellStart = new Int32Array(G * G + 1), cellItems = new Int32Array(N);
(function () {
  var cell = new Int32Array(N);
  for (var i = 0; i < N; i++) {
    var cx = Math.min(G - 1, (U[i] * G) | 0), cy = Math.min(G - 1, (V[i] * G) | 0);
    cell[i] = cy * G + cx; cellStart[cell[i] + 1]++;
  }
  for (var c = 0; c < G * G; c++) cellStart[c + 1] += cellStart[c];
  var fill = cellStart.slice(0, G * G);
  for (var j = 0; j < N; j++) cellItems[fill[cell[j]]++] = j;
})();
function pick(px, py, radius) {
  var u = toU(px), v = toV(py), ru = radius / S;
  var x0 = Math.max(0, Math.floor((u - ru) * G)), x1 = Math.min(G - 1, Math.floor((u + ru) * G));
  var y0 = Math.max(0, Math.floor((v - ru) * G)), y1 = Math.min(G - 1, Math.floor((v + ru) * G));
  var best = -1, bestD = ru * ru;
  for (var cy = y0; cy <= y1; cy++) for (var cx = x0; cx <= x1; cx++) {
    var c = cy * G + cx;
    for (var k = cellStart[c]; k < cellStart[c + 1]; k++) {
      var i = cellItems[k]; if (!visible(i)) continue;
      var du = U[i] - u, dv = V[i] - v, d = du * du + dv * dv;
      if (d <= bestD) { bestD = d; best = i; }
    }
  }
  return best;
}
function pickCell(px, py) {
  if (!D.cells) return -1;
  for (var j = 0; j < D.cells.length; j++) {
    if (Math.abs(sx(D.cells[j].u) - px) < 8 && Math.abs(sy(D.cells[j].v) - py) < 8) return j;
  }
  return -1;
}
function inBox(x0, y0, x1, y1) {
  var ua = toU(Math.min(x0, x1)), ub = toU(Math.max(x0, x1));
  var va = toV(Math.max(y0, y1)), vb = toV(Math.min(y0, y1)), out = [];
  for (var i = 0; i < N; i++) if (U[i] >= ua && U[i] <= ub && V[i] >= va && V[i] <= vb && visible(i)) out.push(i);
  return out;
}

// ------------------------------------------------------------------ panels
function columnCells(i) {
  return columns.map(function (c) {
    if (c.kind === 'category') return c.spec.categories[c.codes[i]];
    var v = c.values[i]; return isFinite(v) ? v.toPrecision(3) : '';
  });
}
function pointRows(tbody, rows, withRank) {
  clear(tbody);
  rows.forEach(function (i, r) {
    var tr = el('tr', null, 'row'); tr.dataset.index = String(i);
    if (withRank) tr.appendChild(el('td', r + 1));
    var name = el('td', '#' + i); tr.appendChild(name);
    nameOf(i).then(function (s) { name.textContent = s; });
    columnCells(i).forEach(function (v) { tr.appendChild(el('td', v)); });
    var t = el('td', '…'); tr.appendChild(t);
    textOf(i).then(function (s) { t.textContent = s; });
    tr.addEventListener('click', function () { click(i); });
    tbody.appendChild(tr);
  });
}
function header(table, first) {
  // widths: rank and point narrow, the label columns at most half the table, the text the rest
  var thead = table.querySelector('thead'); clear(thead);
  var tr = el('tr'), share = columns.length ? Math.min(18, 48 / columns.length) : 0;
  first.forEach(function (h) {
    var th = el('th', h); th.style.width = h === 'rank' ? '2.8em' : '4.6em'; tr.appendChild(th);
  });
  columns.forEach(function (c) {
    var th = el('th', c.name); th.title = c.name; th.style.width = share + '%'; tr.appendChild(th);
  });
  tr.appendChild(el('th', 'text')); thead.appendChild(tr);
}
function click(i) {
  state.clicked = i;
  state.neighbors = neighborsOf(i);
  var box = document.getElementById('point'); clear(box);
  var title = el('div', '#' + i); title.style.fontWeight = '600'; box.appendChild(title);
  nameOf(i).then(function (s) { title.textContent = s; });
  var meta = el('div', null, 'muted');
  meta.textContent = columns.map(function (c, j) { return c.name + ': ' + columnCells(i)[j]; }).join(' · ');
  box.appendChild(meta);
  var body = el('div', '…'); box.appendChild(body);
  textOf(i).then(function (s) { body.textContent = s; });
  var table = document.getElementById('neighbors');
  header(table, ['rank', 'point']);
  pointRows(table.querySelector('tbody'), state.neighbors, true);
  reveal('sec-point');
  document.getElementById('neighbors-note').textContent = neighbors
    ? state.neighbors.length + ' nearest neighbours in the original space (' + D.neighbors.metric + ', ' + (D.neighbors.exact ? 'exact' : 'approximate') + ')'
    : 'neighbours were not exported';
  redraw();
}
function showSelection(list) {
  state.selection = list;
  var table = document.getElementById('selection');
  header(table, ['point']);
  pointRows(table.querySelector('tbody'), list.slice(0, 300), false);
  if (list.length) reveal('sec-selection');
  document.getElementById('selection-note').textContent = list.length
    ? list.length.toLocaleString() + ' points selected' + (list.length > 300 ? ' (first 300 listed)' : '')
    : 'shift + drag on the map to select a box of points';
  redraw();
}
function reveal(id) {
  // scroll the sidebar to a section that just changed (wide screens, where it scrolls by
  // itself); on a narrow screen the page stays where the reader has it, on the map
  var aside = document.querySelector('aside'), section = document.getElementById(id);
  if (!section || getComputedStyle(aside).overflowY === 'visible') return;
  aside.scrollTop += section.getBoundingClientRect().top - aside.getBoundingClientRect().top;
}
function csvCell(v) {
  // quoted, quotes doubled; a cell a spreadsheet would run as a formula gets a leading '
  var t = String(v === undefined || v === null ? '' : v);
  if (/^[=+\-@\t\r]/.test(t)) t = "'" + t;
  return '"' + t.replace(/"/g, '""') + '"';
}
function selectionCsv(list) {
  list = list || state.selection;
  var head = ['index', 'id'].concat(columns.map(function (c) { return c.name; }), ['text']);
  return Promise.all(list.map(function (i) { return Promise.all([nameOf(i), textOf(i)]); }))
    .then(function (named) {
      var lines = [head.map(csvCell).join(',')];
      list.forEach(function (i, r) {
        lines.push([i, named[r][0]].concat(columnCells(i), [named[r][1]]).map(csvCell).join(','));
      });
      return lines.join('\r\n') + '\r\n';
    });
}
function downloadSelection() {
  selectionCsv().then(function (csv) {
    var a = document.createElement('a');
    a.href = URL.createObjectURL(new Blob([csv], {type: 'text/csv'}));
    a.download = 'selection.csv';
    document.body.appendChild(a); a.click(); a.remove();
  });
}
function filters() {
  var box = document.getElementById('filters'); clear(box);
  var c = columns[state.color];
  if (!c || c.kind !== 'category') { box.appendChild(el('div', 'colour by a label column to filter', 'note')); return; }
  var bar = el('div'); var all = el('button', 'all'), nothing = el('button', 'none');
  all.onclick = function () { state.hidden = {}; filters(); redraw(); };
  nothing.onclick = function () { c.spec.categories.forEach(function (_, j) { state.hidden[j] = true; }); filters(); redraw(); };
  bar.appendChild(all); bar.appendChild(document.createTextNode(' ')); bar.appendChild(nothing); box.appendChild(bar);
  c.spec.categories.forEach(function (name, j) {
    var lab = el('label'), cb = el('input'); cb.type = 'checkbox'; cb.checked = !state.hidden[j];
    cb.dataset.category = String(j);
    cb.onchange = function () { state.hidden[j] = !cb.checked; redraw(); };
    var sw = el('span', null, 'swatch'); sw.style.background = c.spec.colors[j];
    lab.appendChild(cb); lab.appendChild(sw); lab.appendChild(document.createTextNode(name + ' (' + c.spec.counts[j].toLocaleString() + ')'));
    box.appendChild(lab);
  });
}
function decodedPanels() {
  // a section with nothing to show is hidden, not left as an empty heading
  var box = document.getElementById('clusters'); clear(box);
  document.getElementById('sec-clusters').hidden = !D.clusters;
  document.getElementById('sec-cells').hidden = !(D.decode || D.cells);
  if (D.clusters) D.clusters.items.forEach(function (c) {
    var d = el('div'); d.className = 'cluster';
    var h = el('div', c.name + ' (' + c.size.toLocaleString() + ')'); h.style.fontWeight = '600'; d.appendChild(h);
    if (c.inverted !== undefined && c.inverted !== null) d.appendChild(el('div', 'decoded centroid: ' + c.inverted, 'decoded'));
    if (c.explained !== undefined && c.explained !== null) d.appendChild(el('div', 'explanation: ' + c.explained, 'decoded'));
    box.appendChild(d);
  });
  var cells = document.getElementById('cells'); clear(cells);
  if (D.decode) cells.appendChild(el('div', D.decode.note, 'note'));
  (D.cells || []).forEach(function (cell, j) {
    var d = el('div', '◇ ' + (cell.inverted || '') + (cell.explained ? ' — ' + cell.explained : ''));
    d.className = 'decoded-cell'; cells.appendChild(d);
  });
}
function about() {
  var box = document.getElementById('about'); clear(box);
  D.notes.forEach(function (n) { box.appendChild(el('div', n, 'note')); });
}

// ------------------------------------------------------------------ search
var searchBox = document.getElementById('search'), countBox = document.getElementById('search-count');
var searchToken = 0;
function search(q) {
  var token = ++searchToken;
  q = (q || '').trim().toLowerCase(); state.query = q;
  if (!q) { state.matches = null; state.matchList = []; countBox.textContent = ''; listMatches(); redraw(); return Promise.resolve([]); }
  var mask = new Uint8Array(N), list = [];
  var stores = [texts, ids].filter(Boolean);
  var blocks = stores.length ? stores[0].spec.blocks.length : 0;
  function scan(b) {
    if (token !== searchToken) return Promise.resolve(null);
    if (b >= blocks) return Promise.resolve(list);
    countBox.textContent = 'searching ' + Math.round(100 * b / blocks) + '%';
    var wanted = [];
    for (var bb = b; bb < Math.min(blocks, b + 8); bb++) stores.forEach(function (s, si) { wanted.push([bb, si]); });
    return Promise.all(wanted.map(function (w) { return stores[w[1]].block(w[0]); })).then(function (parts) {
      parts.forEach(function (lines, p) {
        if (!lines) return;
        var per = stores[wanted[p][1]].spec.per_block, start = wanted[p][0] * per;
        for (var j = 0; j < lines.length; j++) {
          var i = start + j;
          if (!mask[i] && lines[j].toLowerCase().indexOf(q) >= 0) { mask[i] = 1; list.push(i); }
        }
      });
      return scan(b + 8);
    });
  }
  return scan(0).then(function (found) {
    if (found === null) return null;
    list.sort(function (a, b) { return a - b; });
    state.matches = mask; state.matchList = list;
    countBox.textContent = list.length.toLocaleString() + ' match' + (list.length === 1 ? '' : 'es');
    listMatches(); redraw();
    return list;
  });
}
function listMatches() {
  var table = document.getElementById('results');
  header(table, ['point']);
  pointRows(table.querySelector('tbody'), state.matchList.slice(0, 200), false);
  document.getElementById('results-note').textContent = state.query
    ? state.matchList.length.toLocaleString() + ' points contain “' + state.query + '”' + (state.matchList.length > 200 ? ' (first 200 listed)' : '')
    : 'type in the search box to find texts';
}
var debounce = 0;
searchBox.addEventListener('input', function () {
  clearTimeout(debounce); debounce = setTimeout(function () { search(searchBox.value); }, 200);
});
api.search = function (q) { searchBox.value = q; return search(q); };
api.click = click;
api.selectionCsv = selectionCsv;
api.select = showSelection;

// ------------------------------------------------------------------ mouse
var drag = null;
canvas.addEventListener('mousedown', function (e) {
  var r = canvas.getBoundingClientRect();
  drag = {x0: e.clientX - r.left, y0: e.clientY - r.top, x: e.clientX - r.left, y: e.clientY - r.top,
    ox: OX, oy: OY, box: e.shiftKey, moved: false};
});
window.addEventListener('mousemove', function (e) {
  var r = canvas.getBoundingClientRect(), px = e.clientX - r.left, py = e.clientY - r.top;
  if (drag) {
    drag.x = px; drag.y = py;
    if (Math.abs(px - drag.x0) + Math.abs(py - drag.y0) > 3) drag.moved = true;
    if (!drag.box && drag.moved) { OX = drag.ox + px - drag.x0; OY = drag.oy + py - drag.y0; }
    redraw(); tip.style.display = 'none'; return;
  }
  if (px < 0 || py < 0 || px > canvas.width || py > canvas.height) { tip.style.display = 'none'; return; }
  hover(px, py);
});
window.addEventListener('mouseup', function (e) {
  if (!drag) return;
  var d = drag; drag = null;
  if (d.box && d.moved) { showSelection(inBox(d.x0, d.y0, d.x, d.y)); return; }
  if (d.moved) return;
  var i = pick(d.x0, d.y0, 8);
  if (i >= 0) click(i);
  redraw();
});
canvas.addEventListener('wheel', function (e) {
  e.preventDefault();
  var r = canvas.getBoundingClientRect(), px = e.clientX - r.left, py = e.clientY - r.top;
  var f = Math.exp(-e.deltaY * 0.0015);
  OX = px - (px - OX) * f; OY = py - (py - OY) * f; S *= f; redraw();
}, {passive: false});
canvas.addEventListener('dblclick', function () { fit(); redraw(); });
canvas.addEventListener('mouseleave', function () { tip.style.display = 'none'; });
var hoverToken = 0;
function hover(px, py) {
  var token = ++hoverToken;
  var j = pickCell(px, py);
  if (j >= 0) {
    var cell = D.cells[j];
    showTip(px, py, 'decoded here (empty region)', [cell.inverted, cell.explained].filter(Boolean).join('\n'));
    return;
  }
  var i = pick(px, py, 6);
  if (i < 0) { tip.style.display = 'none'; return; }
  var meta = columns.map(function (c, k) { return c.name + ': ' + columnCells(i)[k]; }).join(' · ');
  showTip(px, py, '#' + i, meta + '\n…');
  Promise.all([nameOf(i), textOf(i)]).then(function (r) {
    if (token === hoverToken) showTip(px, py, r[0], meta + (r[1] ? '\n' + r[1] : ''));
  });
}
function showTip(px, py, head, body) {
  clear(tip); tip.appendChild(el('b', head)); tip.appendChild(document.createTextNode(body));
  tip.style.display = 'block';
  var x = px + 14, y = py + 14, w = tip.offsetWidth, h = tip.offsetHeight;
  if (x + w > canvas.width) x = Math.max(0, px - w - 14);
  if (y + h > canvas.height) y = Math.max(0, py - h - 14);
  tip.style.left = x + 'px'; tip.style.top = y + 'px';
}

// ------------------------------------------------------------------ controls and start
colorSelect.addEventListener('change', function () {
  state.color = parseInt(colorSelect.value, 10); state.hidden = {}; filters(); redraw();
});
var namesBox = document.getElementById('show-names');
if (!D.clusters) namesBox.parentNode.style.display = 'none';
namesBox.addEventListener('change', function () { state.showNames = namesBox.checked; redraw(); });
document.getElementById('download').addEventListener('click', downloadSelection);
document.getElementById('clear').addEventListener('click', function () {
  state.clicked = null; state.neighbors = []; showSelection([]);
  clear(document.getElementById('point')); clear(document.querySelector('#neighbors tbody'));
  api.search('');
});
window.addEventListener('resize', resize);
window.addEventListener('keydown', function (e) {
  if (e.key === 'Escape') document.getElementById('clear').click();
  if (e.key === '/' && document.activeElement !== searchBox) { e.preventDefault(); searchBox.focus(); }
});
document.getElementById('title').textContent = D.title;
document.getElementById('stats').textContent = N.toLocaleString() + ' points';
filters(); decodedPanels(); about(); listMatches(); showSelection([]);
resize();
api.ready = true;
api.renderMs = performance.now();
root.dataset.embedlensReady = '1';
api.report = function () {
  return {points: N, drawn: state.drawn, render_ms: api.renderMs, inflate: canInflate,
    width: canvas.width, height: canvas.height};
};
})();
"""

BODY = """
<div id="app">
<header>
  <h1 id="title"></h1>
  <input id="search" type="search" placeholder="search texts…" aria-label="search texts">
  <span id="search-count" class="count"></span>
  <label>colour by <select id="color-by"></select></label>
  <label><input id="show-names" type="checkbox" checked> cluster names</label>
  <button id="clear">clear</button>
  <span id="stats" class="count"></span>
  <span class="help">scroll: zoom · drag: pan · click: a point and its neighbours ·
  shift+drag: select · double click: reset</span>
</header>
<main>
  <div id="stage"><canvas id="map"></canvas><div id="tip"></div></div>
  <aside>
    <section id="sec-results"><h2>Search results</h2><div id="results-note" class="note"></div>
    <table id="results"><thead></thead><tbody></tbody></table></section>
    <section id="sec-point"><h2>Clicked point</h2><div id="point"></div>
    <div id="neighbors-note" class="note"></div>
    <table id="neighbors"><thead></thead><tbody></tbody></table></section>
    <section id="sec-selection"><h2>Selection</h2><div id="selection-note" class="note"></div>
    <button id="download">download selection as CSV</button>
    <table id="selection"><thead></thead><tbody></tbody></table></section>
    <section id="sec-filters"><h2>Filter</h2><div id="filters" class="filters"></div></section>
    <section id="sec-clusters"><h2>Clusters</h2><div id="clusters"></div></section>
    <section id="sec-cells"><h2>Decoded empty regions</h2><div id="cells"></div></section>
    <section id="sec-about"><h2>About this page</h2><div id="about"></div></section>
  </aside>
</main>
</div>
"""
