// VDiTLens attention explorer: reads window.VDITLENS_EXPLORER (explorer-data.js) and draws the chosen layer, head,
// step and branch: frames with a clickable query and its attention overlay, sinks, frame/tile/modality maps and
// received mass per frame; at joint- and cross-attention sites, what the query gives each text key, labelled with
// its token. No network, no dependencies; opens from file://.
(function () {
  'use strict';
  var D = window.VDITLENS_EXPLORER;
  var root = document.getElementById('explorer');
  if (!D || !root) { if (root) root.textContent = 'explorer data missing (explorer/explorer-data.js)'; return; }

  var VIRIDIS = ['#440154', '#482475', '#414487', '#355f8d', '#2a788e', '#21918c', '#22a884', '#44bf70', '#7ad151', '#bddf26', '#fde725']
    .map(function (h) { return [parseInt(h.substr(1, 2), 16), parseInt(h.substr(3, 2), 16), parseInt(h.substr(5, 2), 16)]; });
  function viridis(t) {
    t = isFinite(t) ? Math.min(1, Math.max(0, t)) : 0;
    var x = t * (VIRIDIS.length - 1), i = Math.min(Math.floor(x), VIRIDIS.length - 2), f = x - i, a = VIRIDIS[i], b = VIRIDIS[i + 1];
    return [Math.round(a[0] + (b[0] - a[0]) * f), Math.round(a[1] + (b[1] - a[1]) * f), Math.round(a[2] + (b[2] - a[2]) * f)];
  }
  function hex(c) { return '#' + c.map(function (v) { return (v < 16 ? '0' : '') + v.toString(16); }).join(''); }
  function esc(s) { return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;'); }
  function fmt(v) { return isFinite(v) ? Number(v.toPrecision(4)).toString() : 'n/a'; }
  function bytes(b64) { var s = atob(b64), a = new Uint8Array(s.length); for (var i = 0; i < s.length; i++) a[i] = s.charCodeAt(i); return a; }

  // Quantised blocks decode once: value = code * scale[index / group].
  var cache = new Map();
  function decode(block) {
    if (cache.has(block)) return cache.get(block);
    var codes = new Uint16Array(bytes(block.q).buffer), scales = new Float32Array(bytes(block.scale).buffer), out = new Float64Array(codes.length);
    for (var i = 0; i < codes.length; i++) out[i] = codes[i] * scales[Math.floor(i / block.group)];
    cache.set(block, out);
    return out;
  }

  var G = D.grid, F = G.frames, H = G.height, W = G.width, HW = H * W;
  var state = { prompt: 0, site: 0, head: -1, step: 0, branch: D.batchRows[0].branch, overlay: 'query', sinks: true, query: 0 };
  var branches = D.batchRows.map(function (r) { return r.branch; }).filter(function (b, i, a) { return a.indexOf(b) === i; });

  function batchRow() {
    for (var i = 0; i < D.batchRows.length; i++) if (D.batchRows[i].prompt === state.prompt && D.batchRows[i].branch === state.branch) return i;
    return 0;
  }
  // The [n] values of map `name` for the current site, step, batch row and head (head -1 = mean over heads).
  function mapValues(name) {
    var block = D.data[state.site][state.step][name], all = decode(block), n = block.group, b = batchRow(), out = new Float64Array(n);
    var heads = state.head < 0 ? Array.from({ length: D.heads }, function (_, h) { return h; }) : [state.head];
    heads.forEach(function (h) { var o = (b * D.heads + h) * n; for (var i = 0; i < n; i++) out[i] += all[o + i] / heads.length; });
    return out;
  }
  function site() { return D.siteInfo[state.site]; }
  // Whether the chosen head's own rows were captured here (otherwise rows are the head mean).
  function headRows() { return state.head >= 0 && site().headRows; }
  // Query `query`'s (default: the selected one's) row in block `mean` (head mean) or `heads` (per head).
  function queryRow(mean, heads, query) {
    var entry = D.data[state.site][state.step], Q = D.queries.length, b = batchRow(), qi = query === undefined ? state.query : query, block, o;
    if (headRows()) { block = entry[heads]; o = ((b * D.heads + state.head) * Q + qi) * block.group; }
    else { block = entry[mean]; o = (b * Q + qi) * block.group; }
    return Array.from(decode(block).subarray(o, o + block.group));
  }
  // Attention of the selected query to every video key [F * H * W], for the chosen head or the head mean.
  function overlayValues() { return site().videoKeys ? queryRow('rows', 'rowsHeads') : null; }
  // Attention of the selected query to every text key (joint attention; [] elsewhere), padding keys NaN.
  function textValues(query) {
    if (!(site().textKeys > 0)) return [];
    var valid = D.data[state.site][state.step].textValid[batchRow()];
    return queryRow('text', 'textHeads', query).map(function (v, i) { return valid[i] ? v : NaN; });
  }
  // The same, averaged over the captured queries of the selected query's frame.
  function frameTextValues() {
    var f = D.queries[state.query][0], rows = range(D.queries.length).filter(function (i) { return D.queries[i][0] === f; }).map(textValues);
    return rows.length ? rows[0].map(function (_, i) { return sum(rows.map(function (r) { return r[i]; })) / rows.length * (isNaN(rows[0][i]) ? NaN : 1); }) : [];
  }
  // The token text of each text key of the current batch row (image keys and unknown tokens: their index).
  function keyTokens() {
    var n = site().textKeys, t = D.textTokens && D.textTokens[batchRow()];
    return range(n).map(function (i) { return site().imageKeys ? 'image ' + i : t && t.length === n ? t[i] : String(i); });
  }
  function tokenLabel(t) { var s = String(t).trim(); return s.length ? s : '\u2423'; }
  // The strip's columns: each key up to the last that is not padding, then the trailing padding keys (when more
  // than a few) summed into one column, so the words stay legible at 512-token prompts.
  function stripColumns() {
    var tokens = keyTokens(), last = tokens.length - 1;
    while (last >= 0 && tokens[last] === D.padToken) last--;
    var tail = tokens.length - 1 - last, cols = range(tail > 4 ? last + 1 : tokens.length).map(function (i) { return { keys: [i], label: tokenLabel(tokens[i]), title: i + ' \u201c' + tokens[i] + '\u201d' }; });
    if (tail > 4) cols.push({ keys: range(tail).map(function (i) { return last + 1 + i; }), label: D.padToken + '\u00d7' + tail, title: 'keys ' + (last + 1) + '\u2013' + (tokens.length - 1) + ': ' + tail + ' padding keys (sum)' });
    return cols;
  }
  function stripValues(values) {
    return stripColumns().map(function (c) {
      if (c.keys.length === 1) return values[c.keys[0]];
      var real = c.keys.filter(function (k) { return !isNaN(values[k]); });
      return real.length ? sum(real.map(function (k) { return values[k]; })) : NaN;
    });
  }
  // Received mass of the video keys: the keys from the site's video offset (text keys come first in some families).
  function massValues() { var m = mapValues('received_mass'), o = site().videoKeyStart; return Array.from(m.subarray(o, o + F * HW)); }
  function sum(a) { return a.reduce(function (t, v) { return isFinite(v) ? t + v : t; }, 0); }
  function rowHeadName() { return headRows() ? 'head ' + state.head : state.head >= 0 ? 'head mean (head ' + state.head + '\'s rows not captured at this site)' : 'head mean'; }

  // ---- SVG heatmap with axes, thinned tick labels, colour bar and a tooltip per cell (same look as the C# charts).
  function heatmap(panels, rows, cols, o) {
    var lo = o.min !== undefined ? o.min : 0, hi = -Infinity;
    panels.forEach(function (p) { p.values.forEach(function (v) { if (isFinite(v)) hi = Math.max(hi, v); }); });
    if (!(hi > lo)) hi = lo + 1;
    var cell = o.cell || Math.max(2, Math.min(56, 220 / Math.max(rows, cols))), pw = cols * cell, ph = rows * cell;
    var rl = o.rowLabels || range(rows).map(String), cl = o.colLabels || range(cols).map(String);
    var longest = Math.max.apply(null, cl.map(function (s) { return s.length; })) * 6.6, rs = thin(cell, 13), cs = thin(cell, o.rotateCols ? 13 : longest + 6);
    var below = o.rotateCols ? longest + 10 : 20;
    var rlw = Math.max.apply(null, rl.map(function (s) { return s.length * 6.6; })), left = 30 + rlw, top = o.title ? 26 : 8;
    var pt = panels.some(function (p) { return p.title; }) ? 16 : 0, gap = panels.length > 1 ? 12 : 0, per = Math.min(panels.length, o.perRow || 9);
    var gridRows = Math.ceil(panels.length / per), blockH = pt + ph + below, right = left + per * (pw + gap) - gap;
    var barX = right + 16, barH = Math.max(ph, 90, o.valueTitle.length * 6.6 + 12), ticks = niceTicks(lo, hi, Math.max(3, Math.floor(barH / 28)));
    var tickWidth = Math.max.apply(null, ticks.map(function (t) { return fmtTick(t, ticks).length * 6.6; })), width = barX + 20 + tickWidth + 24;
    var height = Math.max(top + gridRows * blockH + 18, top + pt + barH + 24);
    if (o.title) width = Math.max(width, o.title.length * 7.6 + 20);
    var s = ['<svg class="chart" width="' + width + '" height="' + height + '" viewBox="0 0 ' + width + ' ' + height + '" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="11">',
      '<rect width="100%" height="100%" fill="#fff"/>'];
    if (o.title) s.push('<text x="8" y="18" font-weight="bold" font-size="12.5">' + esc(o.title) + '</text>');
    panels.forEach(function (p, k) {
      var x0 = left + (k % per) * (pw + gap), y0 = top + Math.floor(k / per) * blockH + pt;
      if (p.title) s.push('<text x="' + (x0 + pw / 2) + '" y="' + (y0 - 5) + '" text-anchor="middle">' + esc(p.title) + '</text>');
      for (var r = 0; r < rows; r++) for (var c = 0; c < cols; c++) {
        var v = p.values[r * cols + c];
        s.push('<rect x="' + (x0 + c * cell) + '" y="' + (y0 + r * cell) + '" width="' + (cell + 0.3) + '" height="' + (cell + 0.3) + '" shape-rendering="crispEdges" fill="' +
          (isFinite(v) ? hex(viridis((v - lo) / (hi - lo))) : '#e8e8e8') + '" data-r="' + r + '" data-c="' + c + '"><title>' + esc((p.title ? p.title + ': ' : '') +
          o.rowTitle + ' ' + rl[r] + ', ' + o.colTitle + ' ' + (o.colTitles ? o.colTitles[c] : cl[c]) + ': ' + fmt(v)) + '</title></rect>');
      }
      s.push('<rect x="' + x0 + '" y="' + y0 + '" width="' + pw + '" height="' + ph + '" fill="none" stroke="#555" stroke-width="0.8"/>');
      if (k % per === 0) for (var r2 = 0; r2 < rows; r2 += rs)
        s.push('<text x="' + (x0 - 6) + '" y="' + (y0 + (r2 + 0.5) * cell) + '" text-anchor="end" dominant-baseline="central">' + esc(rl[r2]) + '</text>');
      for (var c2 = 0; c2 < cols; c2 += cs)
        s.push(o.rotateCols
          ? '<text class="col-label" x="' + (x0 + (c2 + 0.5) * cell) + '" y="' + (y0 + ph + 5) + '" text-anchor="end" dominant-baseline="central" transform="rotate(-90 ' + (x0 + (c2 + 0.5) * cell) + ' ' + (y0 + ph + 5) + ')">' + esc(cl[c2]) + '</text>'
          : '<text x="' + (x0 + (c2 + 0.5) * cell) + '" y="' + (y0 + ph + 13) + '" text-anchor="middle">' + esc(cl[c2]) + '</text>');
    });
    var y0 = top + pt;
    s.push('<text x="' + ((left + right) / 2) + '" y="' + (top + gridRows * blockH + 12) + '" text-anchor="middle" font-weight="600">' + esc(o.colTitle) + '</text>');
    s.push('<text x="14" y="' + (y0 + ph / 2) + '" text-anchor="middle" dominant-baseline="central" font-weight="600" transform="rotate(-90 14 ' + (y0 + ph / 2) + ')">' + esc(o.rowTitle) + '</text>');
    for (var i = 0; i < 48; i++)
      s.push('<rect x="' + barX + '" y="' + (y0 + barH - (i + 1) * barH / 48) + '" width="12" height="' + (barH / 48 + 0.5) + '" shape-rendering="crispEdges" fill="' + hex(viridis((i + 0.5) / 48)) + '"/>');
    s.push('<rect x="' + barX + '" y="' + y0 + '" width="12" height="' + barH + '" fill="none" stroke="#555" stroke-width="0.8"/>');
    ticks.forEach(function (t) {
      var y = y0 + barH - (t - lo) / (hi - lo) * barH;
      s.push('<line x1="' + (barX + 12) + '" y1="' + y + '" x2="' + (barX + 15) + '" y2="' + y + '" stroke="#555"/><text x="' + (barX + 17) + '" y="' + y + '" dominant-baseline="central">' + fmtTick(t, ticks) + '</text>');
    });
    var tx = barX + 20 + tickWidth + 12;
    s.push('<text x="' + tx + '" y="' + (y0 + barH / 2) + '" text-anchor="middle" dominant-baseline="central" font-weight="600" transform="rotate(90 ' + tx + ' ' + (y0 + barH / 2) + ')">' + esc(o.valueTitle) + '</text>');
    s.push('</svg>');
    return s.join('');
  }
  function range(n) { return Array.from({ length: n }, function (_, i) { return i; }); }
  function thin(cell, need) { var ks = [1, 2, 5, 10, 20, 50, 100, 200, 500]; for (var i = 0; i < ks.length; i++) if (ks[i] * cell >= need) return ks[i]; return 1000; }
  function niceStep(x) { var e = Math.floor(Math.log10(x)), f = x / Math.pow(10, e); return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * Math.pow(10, e); }
  function niceTicks(lo, hi, n) {
    var step = niceStep((hi - lo) / Math.max(1, n - 1)), out = [];
    for (var v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
    out.step = step;
    return out;
  }
  function fmtTick(t, ticks) {
    var step = ticks.step || 1, d = Math.max(0, Math.ceil(-Math.log10(step) - 1e-9));
    return step < 1e-3 && Math.abs(t) > 0 ? t.toExponential(1) : t.toFixed(Math.min(d, 6));
  }

  // ---- Frames: pictures, overlay, query cross and sink rings.
  var framesBox = document.getElementById('explorer-frames'), canvases = [];
  // All frames on one row where they fit at 72 px or more (pixels scaled without smoothing), at most 160 px each.
  var cw = Math.max(72, Math.min(160, Math.floor((Math.max(600, root.clientWidth - 30) - 14 * F) / F))), ch = Math.round(cw * D.video.height / D.video.width);
  range(F).forEach(function (f) {
    var fig = document.createElement('figure'), c = document.createElement('canvas'), cap = document.createElement('figcaption');
    c.width = cw; c.height = ch; c.dataset.frame = f; c.className = 'explorer-frame';
    cap.textContent = 'frame ' + f;
    fig.appendChild(c); fig.appendChild(cap); framesBox.appendChild(fig); canvases.push(c);
    c.addEventListener('click', function (e) {
      var rect = c.getBoundingClientRect(), gy = (e.clientY - rect.top) / rect.height * H, gx = (e.clientX - rect.left) / rect.width * W;
      selectNearestQuery(f, gy, gx);
    });
  });
  function selectNearestQuery(f, gy, gx) {
    var best = -1, bestD = Infinity;
    D.queries.forEach(function (q, i) {
      if (q[0] !== f) return;
      var d = (q[1] + 0.5 - gy) * (q[1] + 0.5 - gy) + (q[2] + 0.5 - gx) * (q[2] + 0.5 - gx);
      if (d < bestD) { bestD = d; best = i; }
    });
    if (best >= 0) { state.query = best; state.overlay = state.overlay === 'none' ? 'query' : state.overlay; sync(); render(); }
  }
  var frameImages = {}, drawn = null;
  function frameBitmap(prompt, f) {
    var key = prompt + ':' + f;
    if (frameImages[key]) return frameImages[key];
    var rgb = bytes(D.video.images[prompt][f]), w = D.video.width, h = D.video.height, c = document.createElement('canvas');
    c.width = w; c.height = h;
    var ctx = c.getContext('2d'), img = ctx.createImageData(w, h);
    for (var i = 0; i < w * h; i++) { img.data[4 * i] = rgb[3 * i]; img.data[4 * i + 1] = rgb[3 * i + 1]; img.data[4 * i + 2] = rgb[3 * i + 2]; img.data[4 * i + 3] = 255; }
    ctx.putImageData(img, 0, 0);
    return (frameImages[key] = c);
  }
  function topSinks(mass, k) {
    var order = range(mass.length).sort(function (a, b) { return mass[b] - mass[a]; }).slice(0, k), mean = 1 / (D.data[state.site][state.step].received_mass.group);
    return order.map(function (i) { return { f: Math.floor(i / HW), y: Math.floor(i % HW / W), x: i % W, ratio: mass[i] / mean }; });
  }
  function drawFrames() {
    var noVideoKeys = !site().videoKeys, values = noVideoKeys ? null : state.overlay === 'query' ? overlayValues() : state.overlay === 'mass' ? massValues() : null;
    var max = values ? Math.max.apply(null, values) : 0, q = D.queries[state.query], sx = cw / W, sy = ch / H;
    drawn = values ? values.slice() : null;
    var sinks = state.sinks && !noVideoKeys ? topSinks(massValues(), 3) : [];
    canvases.forEach(function (c, f) {
      var ctx = c.getContext('2d');
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(frameBitmap(state.prompt, f), 0, 0, cw, ch);
      if (values && max > 0) {
        // Opacity grows with the value, so the frame shows through where little attention goes.
        for (var y = 0; y < H; y++) for (var x = 0; x < W; x++) {
          var t = values[f * HW + y * W + x] / max;
          ctx.globalAlpha = 0.15 + 0.7 * t;
          ctx.fillStyle = hex(viridis(t));
          ctx.fillRect(x * sx, y * sy, Math.ceil(sx), Math.ceil(sy));
        }
        ctx.globalAlpha = 1;
      }
      if ((state.overlay === 'query' || noVideoKeys) && q[0] === f) {
        var cx = (q[2] + 0.5) * sx, cy = (q[1] + 0.5) * sy;
        ctx.strokeStyle = '#fff'; ctx.lineWidth = 4; cross(ctx, cx, cy, 7);
        ctx.strokeStyle = '#e00000'; ctx.lineWidth = 2; cross(ctx, cx, cy, 7);
      }
      sinks.forEach(function (s) {
        if (s.f !== f) return;
        ctx.beginPath(); ctx.arc((s.x + 0.5) * sx, (s.y + 0.5) * sy, Math.max(sx, sy) * 0.75 + 2, 0, 2 * Math.PI);
        ctx.strokeStyle = '#ff00d4'; ctx.lineWidth = 2; ctx.stroke();
        ctx.font = 'bold 11px DejaVu Sans, sans-serif'; ctx.fillStyle = '#fff'; ctx.strokeStyle = '#000'; ctx.lineWidth = 3;
        var label = '×' + s.ratio.toFixed(1), lx = Math.min(cw - 30, (s.x + 1) * sx + 2), ly = Math.max(11, s.y * sy);
        ctx.strokeText(label, lx, ly); ctx.fillText(label, lx, ly);
      });
    });
    var readout = document.getElementById('explorer-readout');
    readout.dataset.query = state.query;
    readout.textContent = noVideoKeys ? crossReadout(q)
      : state.overlay === 'query'
      ? 'query: frame ' + q[0] + ', patch row ' + q[1] + ', column ' + q[2] + ' — largest weight ' + fmt(max) + ' (' + rowHeadName() + ', ' + D.sites[state.site] + ', step ' + D.steps[state.step] + ', ' + state.branch + ')'
        + (site().textKeys > 0 ? '; video keys ' + fmt(sum(values)) + ', text keys ' + fmt(sum(textValues())) + ' of its attention' : '')
      : state.overlay === 'mass' ? 'received mass of ' + D.sites[state.site] + ', step ' + D.steps[state.step] + ', ' + headName() + ', largest ' + fmt(max) : '';
    document.getElementById('explorer-overlay-scale').innerHTML = values && max > 0 ? colourBar(max, state.overlay === 'query' ? 'attention weight of the query' : 'received mass') : '';
  }
  // Cross-attention: the query and the keys it gives the most.
  function crossReadout(q) {
    var values = textValues(), tokens = keyTokens(), order = range(values.length).filter(function (i) { return isFinite(values[i]); })
      .sort(function (a, b) { return values[b] - values[a]; }).slice(0, 3);
    return 'query: frame ' + q[0] + ', patch row ' + q[1] + ', column ' + q[2] + ' (' + rowHeadName() + ', ' + D.sites[state.site] + ', step ' + D.steps[state.step] + ', ' + state.branch +
      ') — cross-attention to ' + (site().imageKeys ? 'image' : 'text') + ' keys only; most attended: ' +
      order.map(function (i) { return '\u201c' + tokens[i] + '\u201d (key ' + i + ') ' + fmt(values[i]); }).join(', ');
  }
  function cross(ctx, x, y, r) { ctx.beginPath(); ctx.moveTo(x - r, y); ctx.lineTo(x + r, y); ctx.moveTo(x, y - r); ctx.lineTo(x, y + r); ctx.stroke(); }
  function colourBar(max, title) {
    var w = 260, x0 = 20, ticks = niceTicks(0, max, 5), s = ['<svg width="' + (w + 460) + '" height="38" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="11">'];
    for (var i = 0; i < 48; i++) s.push('<rect x="' + (x0 + i * w / 48) + '" y="4" width="' + (w / 48 + 0.5) + '" height="10" fill="' + hex(viridis((i + 0.5) / 48)) + '"/>');
    s.push('<rect x="' + x0 + '" y="4" width="' + w + '" height="10" fill="none" stroke="#555" stroke-width="0.8"/>');
    ticks.forEach(function (t) { var x = x0 + t / max * w; s.push('<line x1="' + x + '" y1="14" x2="' + x + '" y2="17" stroke="#555"/><text x="' + x + '" y="29" text-anchor="middle">' + fmtTick(t, ticks) + '</text>'); });
    s.push('<text x="' + (x0 + w + 10) + '" y="13" font-weight="600">' + esc(title) + ' (opacity grows with the value)</text></svg>');
    return s.join('');
  }
  function headName() { return state.head < 0 ? 'head mean' : 'head ' + state.head; }

  // ---- Joint attention: what the selected query gives each text key (padding keys grey).
  function drawText() {
    var box = document.getElementById('explorer-text'), values = textValues();
    if (!values.length) { box.innerHTML = ''; return; }
    var q = D.queries[state.query], frame = frameTextValues(), cols = stripColumns(), shown = stripValues(values).concat(stripValues(frame));
    var n = D.queries.filter(function (x) { return x[0] === q[0]; }).length, what = site().imageKeys ? 'image' : 'text';
    box.innerHTML = heatmap([{ values: shown }], 2, cols.length, {
      title: 'Attention on the ' + what + ' keys — ' + rowHeadName() + ' (row label: the ' + what + ' keys\' total; grey: masked padding)',
      rowTitle: '', colTitle: what + ' token', valueTitle: 'weight', colLabels: cols.map(function (c) { return c.label; }), colTitles: cols.map(function (c) { return c.title; }), rotateCols: true,
      rowLabels: ['query (f' + q[0] + ', y' + q[1] + ', x' + q[2] + '): ' + fmt(sum(values)), 'mean of frame ' + q[0] + '\'s ' + n + ' queries: ' + fmt(sum(frame))],
      cell: Math.max(4, Math.min(28, 640 / cols.length)),
    });
  }

  // ---- Maps of the selection.
  function drawMaps() {
    if (!site().videoKeys) {
      ['explorer-frame-map', 'explorer-tile-map', 'explorer-modality-map', 'explorer-mass-maps'].forEach(function (id) { document.getElementById(id).innerHTML = ''; });
      document.getElementById('explorer-frame-map').innerHTML = '<p class="explorer-hint">Cross-attention: the keys are ' + (site().imageKeys ? 'image' : 'text') +
        ' tokens, so there are no frame, tile or received-mass maps; the strip above shows each query\'s row.</p>';
      return;
    }
    var what = D.sites[state.site] + ', step ' + D.steps[state.step] + ', ' + state.branch + ', ' + headName();
    var frameLabels = range(F).map(String), T = D.tiles.rows * D.tiles.cols;
    document.getElementById('explorer-frame-map').innerHTML = heatmap([{ values: Array.from(mapValues('frame_map')) }], F, F,
      { title: 'Frame × frame — ' + what, rowTitle: 'query frame', colTitle: 'key frame', valueTitle: 'share of video-key mass', rowLabels: frameLabels, colLabels: frameLabels });
    var tileLabels = range(F * T).map(function (i) { return 'f' + Math.floor(i / T) + '·t' + (i % T); });
    document.getElementById('explorer-tile-map').innerHTML = heatmap([{ values: Array.from(mapValues('tile_map')) }], F * T, F * T,
      { title: 'Tile map (' + D.tiles.size + '×' + D.tiles.size + ' patches)', rowTitle: 'query (frame·tile)', colTitle: 'key (frame·tile)', valueTitle: 'share of video-key mass', rowLabels: tileLabels, colLabels: tileLabels, cell: Math.max(2, Math.min(12, 300 / (F * T))) });
    var mod = ['text', 'video'];
    document.getElementById('explorer-modality-map').innerHTML = heatmap([{ values: Array.from(mapValues('modality_map')) }], 2, 2,
      { title: 'Modality map', rowTitle: 'query', colTitle: 'key', valueTitle: 'share of mass', rowLabels: mod, colLabels: mod, cell: 40 });
    var mass = massValues();
    document.getElementById('explorer-mass-maps').innerHTML = heatmap(range(F).map(function (f) { return { title: 'frame ' + f, values: mass.slice(f * HW, (f + 1) * HW) }; }), H, W,
      { title: 'Received mass per frame — ' + what, rowTitle: 'patch row', colTitle: 'patch column', valueTitle: 'received mass', cell: Math.max(2, Math.min(12, 96 / Math.max(H, W))), perRow: 9 });
  }

  // ---- Controls.
  function fill(id, options, value) {
    var el = document.getElementById('explorer-' + id);
    el.innerHTML = options.map(function (o) { return '<option value="' + esc(o[0]) + '">' + esc(o[1]) + '</option>'; }).join('');
    el.value = String(value);
    el.addEventListener('change', function () {
      var v = el.value;
      state[id] = id === 'branch' || id === 'overlay' ? v : Number(v);
      render();
    });
  }
  fill('prompt', D.prompts.map(function (p, i) { return [i, (i + 1) + ': ' + p]; }), state.prompt);
  fill('site', D.sites.map(function (s, i) { return [i, s]; }), state.site);
  fill('head', [[-1, 'mean']].concat(range(D.heads).map(function (h) { return [h, String(h)]; })), state.head);
  fill('step', D.steps.map(function (s, i) { return [i, s + ' of ' + D.totalSteps]; }), state.step);
  fill('branch', branches.map(function (b) { return [b, b]; }), state.branch);
  var overlaySelect = document.getElementById('explorer-overlay');
  overlaySelect.addEventListener('change', function () { state.overlay = overlaySelect.value; render(); });
  var sinkBox = document.getElementById('explorer-sinks');
  sinkBox.addEventListener('change', function () { state.sinks = sinkBox.checked; render(); });
  function sync() { overlaySelect.value = state.overlay; }

  function render() { drawFrames(); drawText(); drawMaps(); root.dataset.rendered = String(Number(root.dataset.rendered || 0) + 1); }

  // For automated checks and scripting: the state and what is drawn.
  window.vditlensExplorer = {
    state: state, render: render, overlayValues: overlayValues, textValues: function () { return textValues(); }, frameTextValues: frameTextValues,
    keyTokens: keyTokens, stripColumns: stripColumns, stripValues: function () { return stripValues(textValues()); }, mapValues: function (name) { return Array.from(mapValues(name)); },
    batchRow: batchRow, selectNearestQuery: selectNearestQuery, drawnOverlay: function () { return drawn; },
  };
  render();
})();
