// The memory timeline webview (see src/timeline.ts): draws the server's
// memlens.timeline answer with uPlot. RSS and heap against time, the
// function's calls shaded; the tooltip shows the moment's time, RSS, heap
// and source line; a click asks the extension to reveal that line.
/* global uPlot, acquireVsCodeApi */
(function () {
  'use strict';
  const vscode = acquireVsCodeApi();
  const head = document.getElementById('head');
  const chartEl = document.getElementById('chart');
  const tip = document.getElementById('tip');
  const linesEl = document.getElementById('lines');
  let plot;
  let tl;
  // line as run → the function's line entry (at, content, share).
  let byLine = new Map();

  function bytes(n) {
    if (n == null) return '';
    const a = Math.abs(n);
    if (a < 1024) return `${n} B`;
    if (a < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
    if (a < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
    return `${(n / 1024 / 1024 / 1024).toFixed(2)} GiB`;
  }

  function seconds(s) {
    if (s == null) return '';
    if (s === 0) return '0 s';
    const ms = s * 1000;
    if (ms < 1000) return `${+ms.toFixed(ms < 10 ? 1 : 0)} ms`;
    return `${+s.toFixed(s < 10 ? 3 : 1)} s`;
  }

  // Byte ticks at 1, 2 and 5 times a power of 1024 times a power of ten.
  const byteIncrs = [];
  for (const unit of [1, 1024, 1024 * 1024, 1024 * 1024 * 1024]) {
    for (const m of [1, 2, 5, 10, 20, 50, 100, 200, 500]) byteIncrs.push(m * unit);
  }

  function cssVar(name, fallback) {
    const v = getComputedStyle(document.body).getPropertyValue(name).trim();
    return v || fallback;
  }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }

  // where describes the profiled line running at sample i.
  function where(i) {
    const s = tl.samples[i];
    if (!s.function || !s.line) return { text: 'no profiled line running' };
    const l = s.function === tl.function ? byLine.get(s.line) : undefined;
    if (!l) return { text: `${s.function} line ${s.line}` };
    if (l.at == null) return { text: `${s.function} line ${s.line} (edited since the run): ${l.content.trim()}` };
    return { text: `${s.function} line ${l.at + 1}: ${l.content.trim()}`, at: l.at };
  }

  function reveal(at) {
    vscode.postMessage({ type: 'reveal', line: at });
  }

  function header() {
    head.textContent = '';
    const n = tl.samples.length;
    let peak = 0;
    for (let i = 1; i < n; i++) if (tl.samples[i].rss_bytes > tl.samples[peak].rss_bytes) peak = i;
    const title = el('h1', null, `${tl.function}`);
    const facts = el(
      'p',
      'facts',
      `${tl.entry} · ${tl.status} · ${n} samples, one every ${tl.interval_ms} ms · shaded: while ${tl.function} ran`,
    );
    const p = tl.samples[peak];
    const pw = where(peak);
    const peakLine = el('p', 'peak', `peak RSS ${bytes(p.rss_bytes)} at ${seconds(p.t_ms / 1000)} — ${pw.text}`);
    if (pw.at != null) {
      peakLine.classList.add('link');
      peakLine.addEventListener('click', () => reveal(pw.at));
    }
    head.append(title, facts, peakLine);
    if (tl.stale) head.append(el('p', 'stale', 'The function changed since this run: re-profile for current figures.'));
  }

  // topLines lists the function's lines by their share of its time.
  function topLines() {
    linesEl.textContent = '';
    const ranked = tl.lines.filter((l) => l.samples > 0).sort((a, b) => b.share - a.share || a.line - b.line);
    if (ranked.length === 0) {
      linesEl.append(el('p', 'facts', `No sample found ${tl.function} running: it ran for less than the sampling interval.`));
      return;
    }
    linesEl.append(el('h2', null, 'Lines by time'));
    const table = el('table');
    for (const l of ranked.slice(0, 15)) {
      const row = el('tr', l.at == null ? 'gone' : 'link');
      row.append(
        el('td', 'num', `${(100 * l.share).toFixed(1)}%`),
        el('td', 'num', l.at == null ? `${l.line}*` : `${l.at + 1}`),
        el('td', 'code', l.content.trim()),
      );
      if (l.at != null) row.addEventListener('click', () => reveal(l.at));
      table.append(row);
    }
    linesEl.append(table);
  }

  function showTip(u) {
    const i = u.cursor.idx;
    if (i == null || u.cursor.left < 0) {
      tip.hidden = true;
      return;
    }
    const s = tl.samples[i];
    const w = where(i);
    tip.textContent = '';
    tip.append(
      el('div', 'time', seconds(s.t_ms / 1000)),
      el('div', null, `RSS ${bytes(s.rss_bytes)} · heap ${bytes(s.heap_bytes)}`),
      el('div', w.at != null ? 'where' : 'where none', w.text),
    );
    tip.dataset.line = w.at != null ? String(w.at + 1) : '';
    tip.hidden = false;
    const over = u.over.getBoundingClientRect();
    const x = over.left + window.scrollX + u.cursor.left;
    const y = over.top + window.scrollY + u.cursor.top;
    const width = tip.offsetWidth;
    tip.style.left = `${Math.max(4, x + 14 + width > window.innerWidth ? x - 14 - width : x + 14)}px`;
    tip.style.top = `${y + 14}px`;
  }

  // shadeCalls fills the stretches where the function ran, under the lines.
  function shadeCalls(u) {
    const ctx = u.ctx;
    ctx.save();
    ctx.fillStyle = cssVar('--memlens-call', 'rgba(128, 128, 128, 0.18)');
    for (const c of tl.calls) {
      const x0 = u.valToPos(c.start_ms / 1000, 'x', true);
      const x1 = u.valToPos(c.end_ms / 1000, 'x', true);
      const left = Math.max(u.bbox.left, Math.min(x0, x1));
      const right = Math.min(u.bbox.left + u.bbox.width, Math.max(x0, x1));
      if (right < u.bbox.left || left > u.bbox.left + u.bbox.width) continue;
      ctx.fillRect(left, u.bbox.top, Math.max(right - left, 2 * devicePixelRatio), u.bbox.height);
    }
    ctx.restore();
  }

  function size() {
    return { width: Math.max(300, chartEl.clientWidth), height: Math.max(220, Math.min(420, window.innerHeight * 0.5)) };
  }

  function render() {
    byLine = new Map(tl.lines.map((l) => [l.line, l]));
    header();
    topLines();
    const xs = tl.samples.map((s) => s.t_ms / 1000);
    const rss = tl.samples.map((s) => s.rss_bytes);
    const heap = tl.samples.map((s) => s.heap_bytes);
    // Memory is a level read at each sample: hold it until the next one
    // rather than draw a ramp the samples never saw.
    const stepped = uPlot.paths.stepped({ align: 1 });
    const fg = cssVar('--vscode-foreground', '#ccc');
    const grid = cssVar('--vscode-widget-border', 'rgba(128, 128, 128, 0.25)');
    const opts = {
      ...size(),
      scales: { x: { time: false } },
      series: [
        { label: 'time', value: (u, v) => seconds(v) },
        { label: 'RSS', stroke: cssVar('--vscode-charts-blue', '#3794ff'), width: 2, paths: stepped, value: (u, v) => bytes(v) },
        { label: 'heap', stroke: cssVar('--vscode-charts-orange', '#d18616'), width: 1.5, paths: stepped, value: (u, v) => bytes(v) },
      ],
      axes: [
        { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid }, values: (u, vals) => vals.map((v) => seconds(v)) },
        {
          stroke: fg,
          grid: { stroke: grid, width: 1 },
          ticks: { stroke: grid },
          size: 80,
          incrs: byteIncrs,
          values: (u, vals) => vals.map((v) => bytes(v).replace('.0 ', ' ')),
        },
      ],
      cursor: { drag: { x: true, y: false } },
      hooks: {
        drawClear: [shadeCalls],
        setCursor: [showTip],
      },
    };
    if (plot) plot.destroy();
    chartEl.textContent = '';
    plot = new uPlot(opts, [xs, rss, heap], chartEl);
    chartEl.dataset.points = String(xs.length);
    chartEl.dataset.calls = String(tl.calls.length);
    chartEl.dataset.run = String(tl.run);
    plot.over.addEventListener('mouseleave', () => (tip.hidden = true));
    // A click (not the end of a drag-to-zoom) reveals the line running then.
    let downX = null;
    plot.over.addEventListener('mousedown', (e) => (downX = e.clientX));
    plot.over.addEventListener('click', (e) => {
      if (downX != null && Math.abs(e.clientX - downX) > 3) return;
      const i = plot.cursor.idx;
      if (i == null) return;
      const w = where(i);
      if (w.at != null) reveal(w.at);
    });
  }

  window.addEventListener('message', (e) => {
    if (e.data && e.data.type === 'timeline') {
      tl = e.data.timeline;
      render();
    }
  });
  new ResizeObserver(() => {
    if (plot) plot.setSize(size());
  }).observe(chartEl);
  vscode.postMessage({ type: 'ready' });
})();
