// DOM helpers and the building blocks every page uses: cards with loading, empty and error states
// and a CSV download, KPI tiles with a coloured change and a sparkline, and tables.

import { kpi, kpiChange, FORMATS, DASH } from './format.js';
import { sparkline, COLORS } from './charts.js';
import { kpiSpec } from './catalog.js';

// h creates an element: h('div.card#id', {attrs}, ...children). Attributes starting with "on" are
// listeners; data-* and aria-* are set as attributes; null children are skipped.
export function h(tag, attrs, ...children) {
  const [name, ...rest] = tag.split(/(?=[.#])/);
  const el = document.createElement(name || 'div');
  for (const r of rest) {
    if (r[0] === '.') el.classList.add(r.slice(1));
    else el.id = r.slice(1);
  }
  if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className += ' ' + v;
    else if (k in el && !k.includes('-')) el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
}

// csvText renders rows (arrays) as RFC 4180 CSV. A text cell a spreadsheet would run as a formula
// (starting with = + - @, a tab or a carriage return: source values such as =HYPERLINK(…) reach the
// charts unchanged) is prefixed with an apostrophe; numbers, also negative ones, stay numbers.
export function csvText(rows) {
  const cell = (v) => {
    let s = v == null ? '' : String(v);
    if (typeof v !== 'number' && /^[=+\-@\t\r]/.test(s) && !/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?%?$/i.test(s)) s = `'${s}`;
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return rows.map((r) => r.map(cell).join(',')).join('\r\n') + '\r\n';
}

function download(name, rows) {
  const url = URL.createObjectURL(new Blob([csvText(rows)], { type: 'text/csv;charset=utf-8' }));
  const a = h('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

// csvRegistry maps a card id to its current CSV rows (window.__ltc.csv reads it in tests).
export const csvRegistry = new Map();

export const EMPTY = Symbol('empty');

// card makes a titled panel in the loading state. fill(fn) runs fn(body) and moves the card to
// ready, empty (fn returned EMPTY) or error (fn threw). csv(rows) enables the download button.
export function card({ id, title, subtitle, wide = false, tall = false, csvName }) {
  const btn = h('button.csv', { type: 'button', disabled: true, title: 'Download the data of this chart as CSV', 'aria-label': `Download ${title} as CSV` }, 'CSV');
  const body = h('div.card-body');
  const el = h('section.card', { 'data-card': id, 'data-state': 'loading', class: [wide && 'wide', tall && 'tall'].filter(Boolean).join(' ') },
    h('header.card-head', h('div', h('h2', title), subtitle ? h('p.sub', subtitle) : null), btn),
    body);
  let rows = null;
  btn.addEventListener('click', () => rows && download(`${csvName || id}.csv`, rows));
  const c = {
    el,
    body,
    loading() {
      el.dataset.state = 'loading';
      body.replaceChildren(h('div.skeleton', { 'aria-busy': 'true' }, h('span'), h('span'), h('span')));
    },
    error(err, retry) {
      el.dataset.state = 'error';
      body.replaceChildren(h('div.state.error', { role: 'alert' },
        h('strong', 'Could not load this chart'), h('p', err && err.message ? err.message : String(err)),
        retry ? h('button', { type: 'button', onclick: retry }, 'Retry') : null));
    },
    empty(msg) {
      el.dataset.state = 'empty';
      body.replaceChildren(h('div.state.empty', h('strong', 'No data'), h('p', msg || 'Nothing matches this period and these filters. Try a longer period or fewer filters.')));
    },
    csv(r) {
      rows = r;
      csvRegistry.set(id, r);
      btn.disabled = !r || r.length < 2;
    },
    fill(fn, retry) {
      try {
        body.replaceChildren();
        const r = fn(body);
        if (r === EMPTY) c.empty();
        else el.dataset.state = 'ready';
      } catch (e) {
        console.warn(`card ${id}:`, e); // eslint-disable-line no-console
        c.error(e, retry);
      }
    },
  };
  c.loading();
  return c;
}

// chartBox is a sized container for one chart.
export function chartBox(cls = '') {
  return h('div.chart' + (cls ? '.' + cls : ''));
}

// changeClass colours a change: good, bad or flat, given whether up is better.
export function changeClass(v, better) {
  if (!v || v.change == null || Math.abs(v.change) < 1e-9) return 'flat';
  const up = v.change > 0;
  if (better === 'neutral') return 'flat';
  return up === (better === 'up') ? 'good' : 'bad';
}

// tile renders a headline KPI: value, previous value, coloured change and a sparkline.
// spec: {key, label, unit, better: 'up'|'down'|'neutral', hint}; points: [{label, value}] or null.
export function tile(spec, v, points, i = 0) {
  spec = kpiSpec(spec);
  const cls = changeClass(v, spec.better);
  const arrow = !v || v.change == null ? '' : v.change > 0 ? '▲ ' : v.change < 0 ? '▼ ' : '';
  const change = kpiChange(v, spec.unit);
  const low = !!(v && v.lowSample && v.n > 0);
  // The 95% interval (Wilson for a rate, order statistics for a median) in the KPI's unit.
  const fmt = FORMATS[spec.unit].value;
  const ci = v && v.low != null && v.high != null ? ` · 95% CI ${fmt(v.low)}–${fmt(v.high)}` : '';
  const el = h('article.tile' + (low ? '.low-sample' : ''), { 'data-kpi': spec.key, 'data-state': 'ready', title: (spec.hint || '') + (low ? ' Few cases: read the change with care.' : '') },
    h('h3', spec.label),
    h('div.tile-value', kpi(v, spec.unit)),
    h('div.tile-meta',
      h('span.tile-change.' + cls, change ? arrow + change : 'no comparison'),
      h('span.tile-prev', `prev. ${kpi(v, spec.unit, 'previous')}`)),
    spec.maturity && v && v.n > 0 && v.previousN > 0 ? h('div.maturity', { title: spec.maturity }, 'still maturing') : null,
    h('div.tile-n', v && v.n > 0 ? `n = ${v.n.toLocaleString('en-US')}${ci}${low ? ' · small sample' : ''}` : 'no data in this period'));
  // The sparkline ends at the last finished bucket: a running one is partial, not a trend.
  const done = points ? points.filter((p) => !p.partial) : [];
  if (done.length > 1) {
    const box = h('div.spark', { title: points.length > done.length ? 'The running period is left out (partial).' : '' });
    el.append(box);
    el.mountChart = () => sparkline(box, done.map((p) => p.label), done.map((p) => p.value), COLORS[i % COLORS.length], FORMATS[spec.unit].value);
  }
  return el;
}

// tiles puts tiles into a row (already in the document) and draws their sparklines.
export function tiles(parent, list) {
  const row = h('div.tiles', list);
  parent.append(row);
  for (const t of list) if (t.mountChart) t.mountChart();
  return row;
}

// tileError renders a tile whose KPI failed.
export function tileError(spec, err) {
  spec = kpiSpec(spec);
  return h('article.tile', { 'data-kpi': spec.key, 'data-state': 'error' },
    h('h3', spec.label), h('div.tile-value', DASH), h('div.tile-n.error', err.message || String(err)));
}

// table renders rows under headers; numeric columns (num: true) align right.
// cols: [{label, num, cls}], rows: arrays of cell content (strings or nodes); rowAttrs(i) adds attributes.
export function table(cols, rows, rowAttrs) {
  return h('div.table-wrap',
    h('table',
      h('thead', h('tr', cols.map((c) => h('th', { class: c.num ? 'num' : '' }, c.label)))),
      h('tbody', rows.map((r, i) => h('tr', rowAttrs ? rowAttrs(i) : null,
        r.map((cell, j) => h('td', { class: cols[j].num ? 'num' : '' }, cell)))))));
}

// sentence is a highlighted finding shown above charts.
export function callout(text, kind = 'info') {
  return h('p.callout.' + kind, text);
}

// sidePanel opens (or replaces) the side panel #id over the page: a dialog with a title, a
// subtitle, a close button and Escape to close, in the loading state with a skeleton body. It
// returns the panel and its body, for the caller to fill and set data-state on.
export function sidePanel(id, attrs, title, subtitle, close) {
  const body = h('div.panel-body', h('div.skeleton', h('span'), h('span'), h('span')));
  const panel = h(`aside#${id}.panel`, { role: 'dialog', 'data-state': 'loading', ...attrs },
    h('header.card-head', h('div', h('h2', title), h('p.sub', subtitle)),
      h('button.ghost', { type: 'button', onclick: close, 'aria-label': 'Close' }, '✕')), body);
  const old = document.getElementById(id);
  if (old) old.replaceWith(panel);
  else document.body.append(panel);
  const onKey = (e) => { if (e.key === 'Escape') { document.removeEventListener('keydown', onKey); close(); } };
  document.addEventListener('keydown', onKey);
  return { panel, body };
}
