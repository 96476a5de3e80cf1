// Funnel: stage reach and conversion of the cases that started in the period, in total and by
// business unit or region side by side, with lead conversion and win rate above.

import { h, card, tile, tiles, table, EMPTY, chartBox } from '../ui.js';
import { KPI } from '../api.js';
import { scope } from '../state.js';
import { bars } from '../charts.js';
import { pct, count, stage, groupName } from '../format.js';
import { kpiRows, axisPct } from './common.js';
import { maturityNote } from '../catalog.js';

export const BY = [
  { key: 'business_unit', dim: 'BUSINESS_UNIT', label: 'Business unit' },
  { key: 'region', dim: 'REGION', label: 'Region' },
];
export const WINDOWS = [0, 30, 90, 180];

export const QUERY = `query Funnel($s: ScopeInput!, $g: ScopeInput!, $w: Int) {
  leadConversion(scope: $s) { total { ${KPI} } }
  winRate(scope: $s) { total { ${KPI} } }
  funnel(scope: $s, windowDays: $w) { total { stages { stage reached { ${KPI} } fromPrevious { ${KPI} } fromTop { ${KPI} } } } }
  byGroup: funnel(scope: $g, windowDays: $w) { groups { key { value } result { stages { stage reached { value } fromPrevious { value } fromTop { value } } } } }
}`;

// byOf returns the breakdown chosen in the params (default business unit).
export function byOf(params) {
  return BY.find((b) => b.key === params.get('by')) || BY[0];
}

export async function render(ctx) {
  const by = byOf(ctx.params);
  const win = Number(ctx.params.get('window')) || 0;
  const controls = h('div.controls',
    h('div.seg', { role: 'group', 'aria-label': 'Break down by' }, h('span', 'Side by side:'),
      BY.map((b) => h('button', { type: 'button', 'aria-pressed': String(b === by), 'data-by': b.key, onclick: () => ctx.setParams({ by: b.key }) }, b.label))),
    h('label', h('span', 'Count events within'),
      h('select#f-window', { onchange: (e) => ctx.setParams({ window: e.target.value === '0' ? null : e.target.value }) },
        WINDOWS.map((w) => h('option', { value: String(w), selected: w === win }, w ? `${w} days of case start` : 'any time')))));
  ctx.main.append(controls);
  const head = ctx.add(card({ id: 'conversion', title: 'Conversion', subtitle: 'Lead to opportunity, and deals won', wide: true, csvName: 'funnel-conversion' }));
  const total = ctx.add(card({ id: 'reach', title: 'Stage reach', subtitle: 'Cases that started in the period and reached each stage', csvName: 'funnel-reach' }));
  const side = ctx.add(card({ id: 'by-group', title: `Reach from the top by ${by.label.toLowerCase()}`, subtitle: 'Share of each group’s cases reaching the stage', csvName: `funnel-by-${by.key}` }));
  const conv = ctx.add(card({ id: 'step-conversion', title: `Stage-to-stage conversion by ${by.label.toLowerCase()}`, subtitle: 'Reached ÷ reached at the previous stage', wide: true, csvName: `funnel-conversion-by-${by.key}` }));
  let res;
  try {
    res = await ctx.query(QUERY, { s: scope(ctx.params), g: scope(ctx.params, { groupBy: [by.dim] }), w: win || null });
  } catch (e) {
    for (const c of [head, total, side, conv]) c.error(e, () => ctx.setParams({}));
    return;
  }
  if (!ctx.alive()) return;

  head.fill((body) => {
    const lc = res.get('leadConversion').total;
    const wr = res.get('winRate').total;
    tiles(body, [
      tile({ key: 'leadConversion', kpi: 'lead_conversion' }, lc, null, 0),
      tile({ key: 'winRate', kpi: 'win_rate' }, wr, null, 1),
    ]);
    head.csv(kpiRows([['leadConversion', 'ratio', lc], ['winRate', 'ratio', wr]]));
  });

  total.fill((body) => {
    const st = res.get('funnel').total.stages;
    if (!st.length || st[0].reached.value === 0) return EMPTY;
    const box = chartBox('tall');
    body.append(box);
    bars(box, { categories: st.map((s) => stage(s.stage)), series: [{ name: 'Cases reached', data: st.map((s) => s.reached.value) }], fmt: count, horizontal: true, labels: true });
    // Reach keeps growing as a period's cases age: the previous period's column says so.
    const note = maturityNote('stage_reached');
    body.append(table(
      [{ label: 'Stage' }, { label: 'Reached', num: true }, { label: 'From previous', num: true }, { label: 'From top', num: true }, { label: note ? 'Prev. period †' : 'Prev. period', num: true }],
      st.map((s) => [stage(s.stage), count(s.reached.value), pct(s.fromPrevious.value), pct(s.fromTop.value), count(s.reached.previous)]),
      (i) => ({ 'data-stage': st[i].stage })));
    if (note) body.append(h('p.maturity-note', { 'data-testid': 'maturity' }, `† ${note}`));
    total.csv([['stage', 'reached', 'from_previous', 'from_top', 'reached_previous'],
      ...st.map((s) => [s.stage, s.reached.value, s.fromPrevious.value, s.fromTop.value, s.reached.previous])]);
  });

  const groups = () => res.get('byGroup').groups.filter((g) => g.result.stages.length && g.result.stages[0].reached.value > 0);

  side.fill((body) => {
    const gs = groups();
    if (!gs.length) return EMPTY;
    const stages = gs[0].result.stages.map((s) => s.stage);
    const box = chartBox('xtall');
    body.append(box);
    bars(box, {
      categories: stages.map(stage),
      series: gs.map((g) => ({ name: groupName(g.key[0].value), data: g.result.stages.map((s) => s.fromTop.value) })),
      fmt: pct, axisFmt: axisPct, horizontal: true,
    });
    side.csv([[by.key, 'stage', 'reached', 'from_previous', 'from_top'],
      ...gs.flatMap((g) => g.result.stages.map((s) => [g.key[0].value, s.stage, s.reached.value, s.fromPrevious.value, s.fromTop.value]))]);
  });

  conv.fill((body) => {
    const gs = groups();
    if (!gs.length) return EMPTY;
    const stages = gs[0].result.stages.map((s) => s.stage);
    body.append(table(
      [{ label: 'Stage' }, ...gs.map((g) => ({ label: groupName(g.key[0].value), num: true }))],
      stages.map((s, i) => [stage(s), ...gs.map((g) => pct(g.result.stages[i].fromPrevious.value))]),
      (i) => ({ 'data-stage': stages[i] })));
    conv.csv([['stage', ...gs.map((g) => g.key[0].value)], ...stages.map((s, i) => [s, ...gs.map((g) => g.result.stages[i].fromPrevious.value)])]);
  });
}
