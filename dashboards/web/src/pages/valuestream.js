// Value stream: where the sales cycle's time goes (case start → contract signed), stage by stage,
// with the bottleneck named and highlighted, time in stage and rework, and the most frequent paths
// (variants).

import { h, card, tile, tiles, table, callout, EMPTY, chartBox } from '../ui.js';
import { KPI } from '../api.js';
import { scope } from '../state.js';
import { bars } from '../charts.js';
import { pct, count, stage, days, fixed } from '../format.js';
import { axisPct } from './common.js';

export const QUERY = `query ValueStream($s: ScopeInput!) {
  valueStream(scope: $s) {
    total {
      bottleneck
      cases { ${KPI} }
      stages { stage share { ${KPI} } medianDays { value n } p90Days { value n } rework { value n } cases { value } }
    }
  }
  variants(scope: $s, top: 10) { distinct cases top { stages cases medianDays } }
  cycleTimes(scope: $s) { total { leadToCash { p50Days { ${KPI} } } sales { p50Days { ${KPI} } } } }
}`;

// bottleneckSentence is the finding shown above the chart (the tests compare it with the API);
// cycle names the value stream's cycle (the valueStream field's default is the sales cycle).
// cycleName is how a sentence names a GraphQL Cycle ("sales", "lead-to-cash").
export function cycleName(c) {
  return (c || 'SALES').toLowerCase().replace(/_/g, '-');
}

export function bottleneckSentence(id, share, cycle = 'sales') {
  return `${stage(id)} takes ${pct(share)} of the ${cycle} cycle.`;
}

export async function render(ctx) {
  const head = ctx.add(card({ id: 'headline', title: 'Cycle', subtitle: 'Cases that completed the sales cycle (signed a contract) in the period', wide: true, csvName: 'valuestream-headline' }));
  const share = ctx.add(card({ id: 'share', title: 'Where the cycle time goes', subtitle: 'Share of the sales cycle (case start → contract signed) spent in each stage', tall: true, csvName: 'valuestream-share' }));
  const dwell = ctx.add(card({ id: 'dwell', title: 'Time in stage', subtitle: 'Median and 90th percentile days, cases reaching the stage', tall: true, csvName: 'valuestream-time-in-stage' }));
  const detail = ctx.add(card({ id: 'stages', title: 'Stage detail', subtitle: 'Rework = cases with the stage at least twice ÷ cases reaching it', wide: true, csvName: 'valuestream-stages' }));
  const vars = ctx.add(card({ id: 'variants', title: 'Top variants', subtitle: 'The most frequent stage sequences of the cases that started in the period', wide: true, csvName: 'valuestream-variants' }));
  let res;
  try {
    res = await ctx.query(QUERY, { s: scope(ctx.params) });
  } catch (e) {
    for (const c of [head, share, dwell, detail, vars]) c.error(e, () => ctx.setParams({}));
    return;
  }
  if (!ctx.alive()) return;
  const vs = () => res.get('valueStream').total;

  head.fill((body) => {
    const v = vs();
    const ct = res.get('cycleTimes').total;
    if (v.bottleneck) {
      const b = v.stages.find((s) => s.stage === v.bottleneck);
      body.append(callout(bottleneckSentence(v.bottleneck, b.share.value), 'warn'));
    }
    tiles(body, [
      tile({ key: 'cases', kpi: 'value_stream_cases' }, v.cases, null, 0),
      tile({ key: 'leadToCash', kpi: 'lead_to_cash_cycle', stat: 'median' }, ct.leadToCash.p50Days, null, 1),
      tile({ key: 'salesCycle', kpi: 'sales_cycle', stat: 'median' }, ct.sales.p50Days, null, 2),
    ]);
    head.csv([['kpi', 'value', 'previous', 'n'], ['cases', v.cases.value, v.cases.previous, v.cases.n],
      ['leadToCashP50Days', ct.leadToCash.p50Days.value, ct.leadToCash.p50Days.previous, ct.leadToCash.p50Days.n],
      ['salesCycleP50Days', ct.sales.p50Days.value, ct.sales.p50Days.previous, ct.sales.p50Days.n],
      ['bottleneck', v.bottleneck || '', '', '']]);
  });

  share.fill((body) => {
    const v = vs();
    if (!v.bottleneck || v.cases.value === 0) return EMPTY;
    const box = chartBox('tall');
    body.append(box);
    bars(box, { categories: v.stages.map((s) => stage(s.stage)), series: [{ name: 'Share of cycle time', data: v.stages.map((s) => s.share.value) }], fmt: pct, axisFmt: axisPct, horizontal: true, highlight: stage(v.bottleneck), labels: true });
    share.csv([['stage', 'share', 'share_previous'], ...v.stages.map((s) => [s.stage, s.share.value, s.share.previous])]);
  });

  dwell.fill((body) => {
    const v = vs();
    if (v.cases.value === 0) return EMPTY;
    const val = (x) => (x.n > 0 ? x.value : null);
    const box = chartBox('tall');
    body.append(box);
    bars(box, {
      categories: v.stages.map((s) => stage(s.stage)), horizontal: true, fmt: days, axisFmt: (x) => `${x} d`,
      series: [{ name: 'Median', data: v.stages.map((s) => val(s.medianDays)) }, { name: '90th percentile', data: v.stages.map((s) => val(s.p90Days)) }],
    });
    dwell.csv([['stage', 'median_days', 'p90_days', 'cases'], ...v.stages.map((s) => [s.stage, s.medianDays.value, s.p90Days.value, s.medianDays.n])]);
  });

  detail.fill((body) => {
    const v = vs();
    if (v.cases.value === 0) return EMPTY;
    const d = (x) => (x.n > 0 ? days(x.value) : '—');
    body.append(table(
      [{ label: 'Stage' }, { label: 'Share of time', num: true }, { label: 'Prev. period', num: true }, { label: 'Median', num: true }, { label: 'P90', num: true }, { label: 'Rework', num: true }, { label: 'Cases', num: true }],
      v.stages.map((s) => [s.stage === v.bottleneck ? h('strong', stage(s.stage), ' ', h('span.badge.bad', 'bottleneck')) : stage(s.stage),
        pct(s.share.value), s.share.previousN > 0 ? pct(s.share.previous) : '—', d(s.medianDays), d(s.p90Days), s.rework.n > 0 ? pct(s.rework.value) : '—', count(s.cases.value)]),
      (i) => ({ 'data-stage': v.stages[i].stage, class: v.stages[i].stage === v.bottleneck ? 'hl' : '' })));
    detail.csv([['stage', 'share', 'share_previous', 'median_days', 'p90_days', 'rework', 'cases'],
      ...v.stages.map((s) => [s.stage, s.share.value, s.share.previous, s.medianDays.value, s.p90Days.value, s.rework.value, s.cases.value])]);
  });

  vars.fill((body) => {
    const v = res.get('variants');
    if (!v.top.length) return EMPTY;
    body.append(h('p.sub', `${count(v.distinct)} distinct paths over ${count(v.cases)} cases; the top ${v.top.length} cover ${pct(v.top.reduce((a, x) => a + x.cases, 0) / v.cases)} of them.`));
    body.append(table(
      [{ label: '#', num: true }, { label: 'Path' }, { label: 'Cases', num: true }, { label: 'Share', num: true }, { label: 'Median duration', num: true }],
      v.top.map((x, i) => [String(i + 1), h('div.path', x.stages.map((s, j) => [j ? h('span.arrow', '›') : null, h('span.chip', stage(s))])),
        count(x.cases), pct(x.cases / v.cases), days(x.medianDays)])));
    vars.csv([['rank', 'stages', 'cases', 'median_days'], ...v.top.map((x, i) => [i + 1, x.stages.join(' > '), x.cases, fixed(x.medianDays, 3)])]);
  });
}
