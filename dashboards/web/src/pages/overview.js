// Overview: the headline KPIs with their previous period, coloured change and a trend sparkline,
// where the cycle time goes, and the cycle times side by side.

import { kpiSpec } from '../catalog.js';
import { KPI } from '../api.js';
import { scope, grainFor } from '../state.js';
import { card, tile, tiles, callout, EMPTY, chartBox } from '../ui.js';
import { lines, bars } from '../charts.js';
import { pct, stage, days } from '../format.js';
import { points, kpiRows, seriesRows, axisPct } from './common.js';
import { bottleneckSentence } from './valuestream.js';
import { EXPLAINABLE, openExplain } from './explain.js';
import { h } from '../ui.js';

// overlay names the params that open a panel over the page: `explain` (a KPI's change explained).
export const overlay = ['explain'];
export const openOverlay = openExplain;

// TILES are the headline KPIs: which catalog KPI each is and where to find it in the response
// (title, unit and direction come from the catalog).
export const TILES = [
  { key: 'leadConversion', kpi: 'lead_conversion', field: 'leadConversion', get: (r) => r },
  { key: 'winRate', kpi: 'win_rate', field: 'winRate', get: (r) => r },
  { key: 'salesCycle', kpi: 'sales_cycle', stat: 'median', field: 'cycleTimes', get: (r) => r.sales.p50Days },
  { key: 'adoption', kpi: 'adoption', field: 'adoption', get: (r) => r.rate },
  { key: 'compliance', kpi: 'compliance', field: 'compliance', get: (r) => r.rate },
  { key: 'dso', kpi: 'dso', field: 'cash', get: (r) => r.dsoDays },
];

const P = 'value n lowSample low high';
const DUR = `p50Days { ${KPI} } p90Days { ${KPI} }`;

export const QUERY = `query Overview($s: ScopeInput!) {
  leadConversion(scope: $s) { total { ${KPI} } series { start complete result { ${P} } } }
  winRate(scope: $s) { total { ${KPI} } series { start complete result { ${P} } } }
  cycleTimes(scope: $s) {
    total { sales { ${DUR} } delivery { ${DUR} } cash { ${DUR} } leadToCash { ${DUR} } }
    series { start complete result { sales { p50Days { ${P} } } } }
  }
  adoption(scope: $s) { total { rate { ${KPI} } } series { start complete result { rate { ${P} } } } }
  compliance(scope: $s) { total { rate { ${KPI} } } series { start complete result { rate { ${P} } } } }
  cash(scope: $s) { total { dsoDays { ${KPI} } } series { start complete result { dsoDays { ${P} } } } }
  valueStream(scope: $s) { total { bottleneck cases { value n } stages { stage share { value n } } } }
}`;

export async function render(ctx) {
  const grain = grainFor(ctx.range);
  const head = ctx.add(card({ id: 'headline', title: 'Headline KPIs', subtitle: 'This period against the previous period of equal length; “still maturing”: this period’s cases can still move the value, so the older previous period is ahead (hover for why)', wide: true, csvName: 'overview-headline' }));
  const bottleneck = ctx.add(card({ id: 'bottleneck', title: 'Where the cycle time goes', subtitle: 'Share of the sales cycle spent in each stage, cases that signed a contract in the period', csvName: 'overview-time-share' }));
  const cycles = ctx.add(card({ id: 'cycles', title: 'Cycle times', subtitle: 'Median and 90th percentile, in days', csvName: 'overview-cycle-times' }));
  const trend = ctx.add(card({ id: 'trend', title: 'Process health over time', subtitle: `Rates per ${grain.toLowerCase()}; shaded bands are 95% intervals, hollow points rest on too few cases to read`, wide: true, csvName: 'overview-trend' }));
  let res;
  try {
    res = await ctx.query(QUERY, { s: scope(ctx.params, { grain }) });
  } catch (e) {
    for (const c of [head, bottleneck, cycles, trend]) c.error(e, () => ctx.setParams({}));
    return;
  }
  if (!ctx.alive()) return;

  head.fill((body) => {
    const list = [];
    const rows = [];
    TILES.forEach((t, i) => {
      const d = res.get(t.field);
      const v = t.get(d.total);
      rows.push([t.key, kpiSpec(t).unit, v]);
      const el = tile(t, v, points(d.series, grain, t.get), i);
      if (EXPLAINABLE.includes(t.kpi) && v.n > 0 && v.previousN > 0) {
        el.append(h('button.why', { type: 'button', 'data-explain': t.kpi, onclick: () => ctx.setParams({ explain: t.kpi }) }, 'Why did it move?'));
      }
      list.push(el);
    });
    tiles(body, list);
    head.csv(kpiRows(rows));
  });

  bottleneck.fill((body) => {
    const vs = res.get('valueStream').total;
    if (!vs.bottleneck || vs.cases.value === 0) return EMPTY;
    const st = vs.stages.filter((s) => s.share.value > 0);
    const b = vs.stages.find((s) => s.stage === vs.bottleneck);
    body.append(callout(bottleneckSentence(vs.bottleneck, b.share.value), 'warn'));
    const box = chartBox();
    body.append(box);
    bars(box, { categories: st.map((s) => stage(s.stage)), series: [{ name: 'Share of cycle time', data: st.map((s) => s.share.value) }], fmt: pct, axisFmt: axisPct, horizontal: true, highlight: stage(vs.bottleneck), labels: true });
    bottleneck.csv([['stage', 'share'], ...vs.stages.map((s) => [s.stage, s.share.value])]);
  });

  await openExplain(ctx);

  cycles.fill((body) => {
    const ct = res.get('cycleTimes').total;
    const names = [['sales', 'Sales'], ['delivery', 'Delivery'], ['cash', 'Cash'], ['leadToCash', 'Lead to cash']];
    if (names.every(([k]) => ct[k].p50Days.n === 0)) return EMPTY;
    const box = chartBox();
    body.append(box);
    const val = (v) => (v.n > 0 ? v.value : null);
    bars(box, {
      categories: names.map((n) => n[1]),
      series: [{ name: 'Median', data: names.map(([k]) => val(ct[k].p50Days)) }, { name: '90th percentile', data: names.map(([k]) => val(ct[k].p90Days)) }],
      fmt: days, axisFmt: (v) => `${v} d`,
    });
    cycles.csv([['cycle', 'p50_days', 'p90_days', 'n'], ...names.map(([k]) => [k, ct[k].p50Days.value, ct[k].p90Days.value, ct[k].p50Days.n])]);
  });

  trend.fill((body) => {
    const rates = TILES.map(kpiSpec).filter((t) => t.unit === 'ratio');
    const series = rates.map((t) => {
      const ps = points(res.get(t.field).series, grain, t.get);
      return { name: t.label, data: ps.map((p) => p.value), low: ps.map((p) => p.low), ci: ps.map((p) => p.ci) };
    });
    const base = res.get('leadConversion').series;
    if (base.length === 0 || series.every((s) => s.data.every((v) => v == null))) return EMPTY;
    const pts = points(base, grain, (r) => r);
    const box = chartBox('tall');
    body.append(box);
    lines(box, { labels: pts.map((p) => p.label), partial: pts.map((p) => p.partial), series, fmt: pct, axisFmt: axisPct });
    trend.csv(seriesRows(base.map((p) => p.start), series));
  });
}
