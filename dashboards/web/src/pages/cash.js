// Cash: billed against collected, receivables ageing (not yet due, 0–30, 31–60, 61–90, > 90 days
// past due), DSO over time computed as the DSO tile is, and receivables by business unit. The
// definitions of DSO, collection rate and ageing are shown on the page, from the catalog.

import { kpiSpec } from '../catalog.js';
import { card, tile, tiles, table, EMPTY, chartBox, h } from '../ui.js';
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

// AGEING are the receivables ageing buckets (GraphQL ReceivablesAgeing), youngest first.
export const AGEING = [
  { key: 'notDue', name: 'Not yet due', color: '#2563eb' },
  { key: 'pastDue0To30', name: '0–30 days past due', color: '#f59e0b' },
  { key: 'pastDue31To60', name: '31–60 days', color: '#f97316' },
  { key: 'pastDue61To90', name: '61–90 days', color: '#dc2626' },
  { key: 'pastDueOver90', name: '> 90 days', color: '#7f1d1d' },
];
const AGE = (sel) => `ageing { ${AGEING.map((a) => `${a.key} { ${sel} }`).join(' ')} }`;

const ALL = `billed { ${KPI} } collected { ${KPI} } receivables { ${KPI} } overdueShare { ${KPI} } dsoDays { ${KPI} } collectionRate { ${KPI} } ${AGE('value previous n')}`;
const PT = `billed { value n } collected { value n } receivables { value n } overdueShare { value n } dsoDays { value n } collectionRate { value n } ${AGE('value')}`;

// DEFINED are the KPIs whose definition the page prints under its tiles.
const DEFINED = ['dso', 'collection_rate', 'receivables_ageing'];

export const QUERY = `query Cash($s: ScopeInput!, $g: ScopeInput!) {
  cash(scope: $s) { total { ${ALL} } series { start complete result { ${PT} } } }
  byUnit: cash(scope: $g) { groups { key { value } result { receivables { ${KPI} } overdueShare { value n } dsoDays { value n } billed { value n } ${AGE('value')} } } }
}`;

export async function render(ctx) {
  const grain = grainFor(ctx.range, 'WEEK');
  const head = ctx.add(card({ id: 'headline', title: 'Cash', subtitle: 'Receivables are measured at the period end (or now)', wide: true, csvName: 'cash-headline' }));
  const flow = ctx.add(card({ id: 'billed-collected', title: 'Billed vs collected', subtitle: `Per ${grain.toLowerCase()}`, csvName: 'cash-billed-collected' }));
  const ar = ctx.add(card({ id: 'receivables', title: 'Receivables ageing', subtitle: `By days past due, at the end of each ${grain.toLowerCase()} (a running one: now)`, csvName: 'cash-receivables' }));
  const dso = ctx.add(card({ id: 'dso-trend', title: 'DSO trend', subtitle: `Days sales outstanding per ${grain.toLowerCase()}, as the DSO tile computes it; the running ${grain.toLowerCase()} dashed`, csvName: 'cash-dso' }));
  const units = ctx.add(card({ id: 'by-unit', title: 'Receivables by business unit', subtitle: 'At the period end, by days past due', csvName: 'cash-by-unit' }));
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
    body.append(h('dl.defs.kpi-defs', DEFINED.map((k) => {
      const spec = kpiSpec({ kpi: k });
      return [h('dt', spec.label), h('dd', spec.hint.slice(spec.label.length + 2))];
    })));
    const age = d.total.ageing;
    const ar0 = d.total.receivables.value;
    body.append(table([{ label: 'Receivables ageing' }, { label: 'Amount', num: true }, { label: 'Share', num: true }, { label: 'Previous period', num: true }],
      AGEING.map((a) => [a.name, money(age[a.key].value), ar0 ? pct(age[a.key].value / ar0) : '—', money(age[a.key].previous)]),
      (i) => ({ 'data-ageing': AGEING[i].key })));
    head.csv(kpiRows([...TILES.map((t) => [t.key, kpiSpec(t).unit, t.get(d.total)]), ...AGEING.map((a) => [`ageing_${a.key}`, 'money', age[a.key]])]));
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
    const series = AGEING.map((a) => ({ name: a.name, data: s.map((p) => p.result.ageing[a.key].value), color: a.color }));
    const box = chartBox();
    body.append(box);
    bars(box, { categories: labels(), series, fmt: money, axisFmt: axisMoney, stack: true });
    ar.csv(seriesRows(starts(), AGEING.map((a, i) => ({ name: `receivables_${a.key}`, data: series[i].data }))));
  });

  dso.fill((body) => {
    const pts = points(c().series, grain, (r) => r.dsoDays);
    if (!pts.length || pts.every((p) => p.value == null)) return EMPTY;
    const box = chartBox();
    body.append(box);
    lines(box, { labels: pts.map((p) => p.label), partial: pts.map((p) => p.partial), series: [{ name: 'DSO', data: pts.map((p) => p.value) }], fmt: days, axisFmt: (v) => `${v} d`, area: true, min: 0 });
    dso.csv(seriesRows(starts(), [{ name: 'dso_days', data: pts.map((p) => p.value) }]));
  });

  units.fill((body) => {
    const gs = res.get('byUnit').groups.filter((g) => g.result.receivables.value !== 0 || g.result.billed.n > 0);
    if (!gs.length) return EMPTY;
    const box = chartBox();
    body.append(box);
    bars(box, {
      categories: gs.map((g) => groupName(g.key[0].value)), stack: true, fmt: money, axisFmt: axisMoney,
      series: AGEING.map((a) => ({ name: a.name, data: gs.map((g) => g.result.ageing[a.key].value), color: a.color })),
    });
    body.append(table([{ label: 'Business unit' }, { label: 'Receivables', num: true }, { label: 'Overdue', num: true }, { label: 'DSO', num: true }],
      gs.map((g) => [groupName(g.key[0].value), money(g.result.receivables.value), pct(g.result.overdueShare.value), g.result.dsoDays.n > 0 ? days(g.result.dsoDays.value) : '—']),
      (i) => ({ 'data-unit': gs[i].key[0].value })));
    units.csv([['business_unit', 'receivables', 'overdue_share', 'dso_days', 'receivables_previous', ...AGEING.map((a) => `receivables_${a.key}`)],
      ...gs.map((g) => [g.key[0].value, g.result.receivables.value, g.result.overdueShare.value, g.result.dsoDays.value, g.result.receivables.previous, ...AGEING.map((a) => g.result.ageing[a.key].value)])]);
  });
}

