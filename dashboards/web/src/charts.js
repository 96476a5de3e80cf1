// ECharts, imported part by part (core, bar and line charts, the components used, the canvas
// renderer) to keep the bundle small. Every chart is tracked so a page change disposes it, a
// container resize resizes it, and a page knows when all its charts have rendered.

import * as echarts from 'echarts/core';
import { BarChart, LineChart } from 'echarts/charts';
import { GridSimpleComponent, TooltipComponent, LegendPlainComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';

echarts.use([BarChart, LineChart, GridSimpleComponent, TooltipComponent, LegendPlainComponent, CanvasRenderer]);

export const COLORS = ['#2563eb', '#f59e0b', '#10b981', '#8b5cf6', '#ef4444', '#06b6d4', '#84cc16', '#ec4899', '#64748b', '#a16207'];
export const HIGHLIGHT = '#dc2626';
const TEXT = '#334155';
const AXIS = '#cbd5e1';

const live = new Set();
let pending = [];
let firstChart = null;

const observer = typeof ResizeObserver === 'function'
  ? new ResizeObserver((entries) => {
    for (const e of entries) {
      const c = echarts.getInstanceByDom(e.target);
      if (c) c.resize();
    }
  })
  : null;

// firstChartMs is the time from navigation start to the first chart drawn on screen (null before).
export function firstChartMs() {
  return firstChart;
}

// mount renders an option into el and records a promise that settles once the chart has rendered.
export function mount(el, option) {
  const chart = echarts.init(el, null, { renderer: 'canvas' });
  live.add(chart);
  if (firstChart == null) {
    chart.on('rendered', () => {
      if (firstChart == null) firstChart = Math.round(performance.now());
    });
  }
  if (observer) observer.observe(el);
  pending.push(new Promise((resolve) => {
    const timer = setTimeout(resolve, 4000);
    chart.on('finished', () => {
      clearTimeout(timer);
      resolve();
    });
  }));
  chart.setOption({ animationDuration: 300, animationDurationUpdate: 200, textStyle: { fontFamily: 'inherit' }, ...option });
  return chart;
}

// settled resolves when every chart mounted since the last call has rendered.
export function settled() {
  const p = Promise.all(pending);
  pending = [];
  return p;
}

// disposeAll drops every chart (on page change).
export function disposeAll() {
  for (const c of live) {
    if (observer) observer.unobserve(c.getDom());
    c.dispose();
  }
  live.clear();
  pending = [];
}

// resizeAll resizes every chart to its container (e.g. before printing).
export function resizeAll() {
  for (const c of live) c.resize();
}

function tooltip(fmt) {
  return {
    trigger: 'axis',
    axisPointer: { type: 'shadow' },
    confine: true,
    valueFormatter: (v) => (v == null ? '—' : fmt(v)),
  };
}

// sparkline draws a tiny trend line without axes; null values are gaps.
export function sparkline(el, labels, values, color, fmt) {
  return mount(el, {
    animation: false,
    grid: { left: 2, right: 2, top: 4, bottom: 2 },
    xAxis: { type: 'category', data: labels, show: false, boundaryGap: false },
    yAxis: { type: 'value', show: false, scale: true },
    tooltip: { trigger: 'axis', confine: true, valueFormatter: (v) => (v == null ? '—' : fmt(v)), axisPointer: { type: 'line' } },
    series: [{ type: 'line', data: values, showSymbol: false, smooth: false, connectNulls: false, lineStyle: { width: 2, color }, areaStyle: { color, opacity: 0.08 }, itemStyle: { color } }],
  });
}

// lines draws time series: series = [{name, data, dashed, color}] over the category labels; a
// dashed series without symbols serves as a reference line (e.g. a baseline or a target).
// partial[i] marks bucket i as not yet ended: each series is drawn solid up to the last complete
// bucket and dashed from there, so a running bucket reads as partial, not as a cliff; the chart's
// element carries data-partial with the number of partial buckets drawn that way. A series' low[i]
// marks a value over too few cases (lowSample): its point is drawn hollow and faint, and the chart
// element carries data-low-sample with the number of such points. A series' ci[i] = [lo, hi] is the
// value's 95% interval: drawn as a shaded band in the series' colour (the lower bound, invisible, and
// hi − lo stacked on it), named like the series so its legend entry toggles both, left out of the
// tooltip, which prints the interval beside the value instead; the element carries data-bands with
// the number of series drawn with one.
export function lines(el, { labels, series, fmt, axisFmt, area = false, min, partial }) {
  const cut = partial ? partial.indexOf(true) : -1;
  const coloured = series.map((s, i) => ({ ...s, color: s.color || COLORS[i % COLORS.length] }));
  const drawn = [];
  coloured.forEach((s) => {
    if (cut < 0 || s.dashed) {
      drawn.push(s);
      return;
    }
    drawn.push({ ...s, data: s.data.map((v, j) => (j < cut ? v : null)) });
    drawn.push({ ...s, partial: true, data: s.data.map((v, j) => (j >= cut - 1 ? v : null)) });
  });
  if (cut >= 0) el.dataset.partial = String(partial.length - cut);
  const lows = series.reduce((n, s) => n + (s.low ? s.low.filter((l, j) => l && s.data[j] != null).length : 0), 0);
  if (lows > 0) el.dataset.lowSample = String(lows);
  const faint = (s) => (s.low ? s.data.map((v, j) => (s.low[j] && v != null ? { value: v, symbol: 'emptyCircle', itemStyle: { opacity: 0.35 } } : v)) : s.data);
  const banded = coloured.filter((s) => !s.dashed && s.ci && s.ci.some((c, j) => c && s.data[j] != null));
  const band = (s, k) => {
    const at = (f) => s.ci.map((c, j) => (c && s.data[j] != null ? f(c) : null));
    const common = { type: 'line', name: s.name, stack: `ci${k}`, symbol: 'none', silent: true, connectNulls: false, lineStyle: { opacity: 0 }, z: 1 };
    return [
      { ...common, id: `band-lo-${k}`, data: at((c) => c[0]) },
      { ...common, id: `band-w-${k}`, data: at((c) => c[1] - c[0]), areaStyle: { color: s.color, opacity: 0.12 } },
    ];
  };
  if (banded.length) el.dataset.bands = String(banded.length);
  const ciByName = new Map(banded.map((s) => [s.name, s.ci]));
  return mount(el, {
    color: COLORS,
    grid: { left: 8, right: 16, top: series.length > 1 ? 36 : 16, bottom: 8, containLabel: true },
    legend: series.length > 1 ? { top: 0, textStyle: { color: TEXT } } : undefined,
    tooltip: { ...tooltip(fmt), axisPointer: { type: 'line' }, formatter: cut >= 0 || banded.length ? onePerName(fmt, ciByName) : undefined },
    xAxis: { type: 'category', data: labels, boundaryGap: false, axisLine: { lineStyle: { color: AXIS } }, axisLabel: { color: TEXT } },
    yAxis: { type: 'value', min, axisLabel: { color: TEXT, formatter: axisFmt || fmt }, splitLine: { lineStyle: { color: '#eef2f7' } } },
    series: drawn.map((s) => ({
      type: 'line', name: s.name, data: faint(s), showSymbol: !s.dashed && labels.length < 40, connectNulls: false,
      areaStyle: area && !s.dashed && !s.partial ? { opacity: 0.1 } : undefined,
      lineStyle: { width: 2, type: s.dashed || s.partial ? 'dashed' : 'solid', color: s.color, opacity: s.partial ? 0.6 : 1 },
      itemStyle: { color: s.color, opacity: s.partial ? 0.6 : 1 },
    })).concat(banded.flatMap((s, k) => band(s, k))),
  });
}

// onePerName is an axis tooltip listing each series name once (a series drawn in a solid and a
// dashed part shows its one value, its interval bands none), names escaped as text, with the value's
// 95% interval from ciByName (series name → [lo, hi] per bucket) when it has one.
function onePerName(fmt, ciByName = new Map()) {
  const esc = (t) => String(t).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return (params) => {
    const byName = new Map();
    for (const p of params) {
      if (String(p.seriesId).startsWith('band-')) continue;
      if (!byName.has(p.seriesName) || byName.get(p.seriesName).value == null) byName.set(p.seriesName, p);
    }
    const ci = (p) => {
      const c = p.value == null ? null : ciByName.get(p.seriesName)?.[p.dataIndex];
      return c ? ` <span class="ci">(95% CI ${esc(fmt(c[0]))}–${esc(fmt(c[1]))})</span>` : '';
    };
    const rows = [...byName.values()].map((p) => `${p.marker}${esc(p.seriesName)}: <b>${p.value == null ? '—' : esc(fmt(p.value))}</b>${ci(p)}`);
    return [esc(params[0].axisValueLabel), ...rows].join('<br>');
  };
}

// bars draws bar series over categories. horizontal puts categories on the y axis (top to bottom);
// highlight colours one category; stack stacks the series; labels shows formatted values.
export function bars(el, { categories, series, fmt, axisFmt, horizontal = false, highlight, stack = false, labels = false }) {
  const cat = { type: 'category', data: categories, axisLine: { lineStyle: { color: AXIS } }, axisLabel: { color: TEXT, interval: 0, width: horizontal ? 130 : 90, overflow: 'truncate' }, axisTick: { show: false }, inverse: horizontal };
  const val = { type: 'value', axisLabel: { color: TEXT, formatter: axisFmt || fmt }, splitLine: { lineStyle: { color: '#eef2f7' } } };
  return mount(el, {
    color: COLORS,
    grid: { left: 8, right: labels && horizontal ? 64 : 16, top: series.length > 1 ? 36 : 12, bottom: 8, containLabel: true },
    legend: series.length > 1 ? { top: 0, textStyle: { color: TEXT } } : undefined,
    tooltip: tooltip(fmt),
    xAxis: horizontal ? val : { ...cat, axisLabel: { ...cat.axisLabel, rotate: categories.length > 6 ? 30 : 0 } },
    yAxis: horizontal ? cat : val,
    series: series.map((s, i) => ({
      type: 'bar',
      name: s.name,
      stack: stack ? 'total' : undefined,
      barMaxWidth: 36,
      data: s.data.map((v, j) => (highlight != null && categories[j] === highlight && i === 0 ? { value: v, itemStyle: { color: HIGHLIGHT } } : v)),
      itemStyle: s.color ? { color: s.color } : undefined,
      label: labels ? { show: true, position: horizontal ? 'right' : 'top', color: TEXT, formatter: (p) => fmt(p.value) } : undefined,
    })),
  });
}
