// Helpers shared by the pages: series extraction and CSV rows of KPI values.

import { bucket, FORMATS } from '../format.js';

// points turns a series into [{label, value, low, ci}] with pick(result) → KpiValue; buckets computed
// over nothing (n = 0) are gaps (null); low is the value's lowSample flag, ci its 95% interval
// [low, high] when the API gives one (rates, medians), else null.
// A bucket that has not ended (complete: false) is labelled "(partial)" so a chart never shows a
// running week as a collapse.
export function points(series, grain, pick) {
  return series.map((p) => {
    const v = pick(p.result);
    const partial = p.complete === false;
    const ci = v && v.n > 0 && v.low != null && v.high != null ? [v.low, v.high] : null;
    return { label: bucket(p.start, grain) + (partial ? ' (partial)' : ''), start: p.start, partial, value: v && v.n > 0 ? v.value : null, low: !!(v && v.lowSample && v.n > 0), ci };
  });
}

// kpiRows are CSV rows for named KpiValues: [name, value, previous, change, relChange, n, previousN].
export function kpiRows(items) {
  return [['kpi', 'unit', 'value', 'previous', 'change', 'relative_change', 'n', 'previous_n'],
    ...items.map(([name, unit, v]) => [name, unit, v.value, v.previous, v.change ?? '', v.relChange ?? '', v.n, v.previousN])];
}

// seriesRows are CSV rows of several aligned series: [bucket_start, ...names].
export function seriesRows(starts, named) {
  return [['bucket_start', ...named.map((s) => s.name)],
    ...starts.map((s, i) => [s, ...named.map((n) => (n.data[i] == null ? '' : n.data[i]))])];
}

export function fmt(unit) {
  return FORMATS[unit].value;
}

// axisPct labels a ratio axis in whole percents.
export const axisPct = (v) => `${Math.round(v * 100)}%`;
