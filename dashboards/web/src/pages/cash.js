// Cash: billed against collected, receivables (current and overdue), DSO over time, and
// receivables by business unit.

import { kpiSpec } from '../catalog.js';
import { card, tile, tiles, table, EMPTY, chartBox } from '../ui.js';
import { KPI } from '../api.js';
import { scope, grainFor } from '../state.js';
import { bars, lines } from '../charts.js';
import { pct, money, days, groupName } from '../format.js';
import { points, kpiRows, seriesRows } from './common.js';

const axisMoney = (v) => money(v).replace('.0', '');

export const TILES = [
  { key: 'billed', kpi: 'billed', get: (r) => r.billed },
  { key: 'collected', kpi: 'collected', get: (r) => r.collected },
  { key: 'receivables', kpi: 'receivables', get: (r) => r.receivables },
  { key: 'overdueShare', kpi: 'overdue_share', get: (r) => r.overdueShare },
  { key: 'dso', kpi: 'dso', get: (r) => r.dsoDays },
  { key: 'collectionRate', kpi: 'collection_rate', get: (r) => r.collectionRate },
];

const ALL = `billed { ${KPI} } collected { ${KPI} } receivables { ${KPI} } overdueShare { ${KPI} } dsoDays { ${KPI} } collectionRate { ${KPI} }`;
const PT = 'billed { value n } collected { value n } receivables { value n } overdueShare { value n } dsoDays { value n } collectionRate { value n }';

export const QUERY = `query Cash($s: ScopeInput!, $g: ScopeInput!) {
  cash(scope: $s) { total { ${ALL} } series { start complete result { ${PT} } } }
  byUnit: cash(scope: $g) { groups { key { value } result { receivables { ${KPI} } overdueShare { value n } dsoDays { value n } billed { value n } } } }
}`;

export async function render(ctx) {
  const grain = grainFor(ctx.range, 'WEEK');
  const head = ctx.add(card({ id: 'headline', title: 'Cash', subtitle: 'Receivables are measured at the period end (or now)', wide: true, csvName: 'cash-headline' }));
  const flow = ctx.add(card({ id: 'billed-collected', title: 'Billed vs collected', subtitle: `Per ${grain.toLowerCase()}`, csvName: 'cash-billed-collected' }));
  const ar = ctx.add(card({ id: 'receivables', title: 'Receivables ageing', subtitle: `Current and overdue receivables at the end of each ${grain.toLowerCase()}`, csvName: 'cash-receivables' }));
  const dso = ctx.add(card({ id: 'dso-trend', title: 'DSO trend', subtitle: `Days sales outstanding per ${grain.toLowerCase()}`, csvName: 'cash-dso' }));
  const units = ctx.add(card({ id: 'by-unit', title: 'Receivables by business unit', subtitle: 'At the period end; current and overdue', csvName: 'cash-by-unit' }));
  let res;
  try {
    res = await ctx.query(QUERY, { s: scope(ctx.params, { grain }), g: scope(ctx.params, { groupBy: ['BUSINESS_UNIT'] }) });
  } catch (e) {
    for (const c of [head, flow, ar, dso, units]) c.error(e, () => ctx.setParams({}));
    return;
  }
  if (!ctx.alive()) return;
  const c = () => res.get('cash');

  head.fill((body) => {
    const d = c();
    tiles(body, TILES.map((t, i) => tile(t, t.get(d.total), t.key === 'dso' || t.key === 'receivables' ? points(d.series, grain, t.get) : null, i)));
    head.csv(kpiRows(TILES.map((t) => [t.key, kpiSpec(t).unit, t.get(d.total)])));
  });

  const starts = () => c().series.map((p) => p.start);
  const labels = () => points(c().series, grain, (r) => r.billed).map((p) => p.label);

  flow.fill((body) => {
    const s = c().series;
    if (!s.length || s.every((p) => p.result.billed.n === 0 && p.result.collected.n === 0)) return EMPTY;
    const series = [{ name: 'Billed', data: s.map((p) => p.result.billed.value) }, { name: 'Collected', data: s.map((p) => p.result.collected.value) }];
    const box = chartBox();
    body.append(box);
    bars(box, { categories: labels(), series, fmt: money, axisFmt: axisMoney });
    flow.csv(seriesRows(starts(), series.map((x) => ({ ...x, name: x.name.toLowerCase() }))));
  });

  ar.fill((body) => {
    const s = c().series;
    if (!s.length || s.every((p) => p.result.receivables.value === 0)) return EMPTY;
    const overdue = s.map((p) => p.result.receivables.value * p.result.overdueShare.value);
    const current = s.map((p, i) => p.result.receivables.value - overdue[i]);
    const series = [{ name: 'Current', data: current, color: '#2563eb' }, { name: 'Overdue', data: overdue, color: '#dc2626' }];
    const box = chartBox();
    body.append(box);
    bars(box, { categories: labels(), series, fmt: money, axisFmt: axisMoney, stack: true });
    ar.csv(seriesRows(starts(), [{ name: 'receivables_current', data: current }, { name: 'receivables_overdue', data: overdue }, { name: 'overdue_share', data: s.map((p) => p.result.overdueShare.value) }]));
  });

  dso.fill((body) => {
    const pts = points(c().series, grain, (r) => r.dsoDays);
    if (!pts.length || pts.every((p) => p.value == null)) return EMPTY;
    const box = chartBox();
    body.append(box);
    lines(box, { labels: pts.map((p) => p.label), series: [{ name: 'DSO', data: pts.map((p) => p.value) }], fmt: days, axisFmt: (v) => `${v} d`, area: true, min: 0 });
    dso.csv(seriesRows(starts(), [{ name: 'dso_days', data: pts.map((p) => p.value) }]));
  });

  units.fill((body) => {
    const gs = res.get('byUnit').groups.filter((g) => g.result.receivables.value !== 0 || g.result.billed.n > 0);
    if (!gs.length) return EMPTY;
    const overdue = gs.map((g) => g.result.receivables.value * g.result.overdueShare.value);
    const box = chartBox();
    body.append(box);
    bars(box, {
      categories: gs.map((g) => groupName(g.key[0].value)), stack: true, fmt: money, axisFmt: axisMoney,
      series: [{ name: 'Current', data: gs.map((g, i) => g.result.receivables.value - overdue[i]), color: '#2563eb' }, { name: 'Overdue', data: overdue, color: '#dc2626' }],
    });
    body.append(table([{ label: 'Business unit' }, { label: 'Receivables', num: true }, { label: 'Overdue', num: true }, { label: 'DSO', num: true }],
      gs.map((g) => [groupName(g.key[0].value), money(g.result.receivables.value), pct(g.result.overdueShare.value), g.result.dsoDays.n > 0 ? days(g.result.dsoDays.value) : '—']),
      (i) => ({ 'data-unit': gs[i].key[0].value })));
    units.csv([['business_unit', 'receivables', 'overdue_share', 'dso_days', 'receivables_previous'],
      ...gs.map((g) => [g.key[0].value, g.result.receivables.value, g.result.overdueShare.value, g.result.dsoDays.value, g.result.receivables.previous])]);
  });
}

