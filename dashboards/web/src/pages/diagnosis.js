// Diagnosis (stage 1 of the implementation model), laid out to print as a report: the baseline KPIs
// of the period and filters, cost per lead and per won deal, the value stream with its bottleneck,
// and the improvement opportunities ranked with the numbers behind each rank.

import { kpiSpec } from '../catalog.js';
import { h, card, tile, tiles, table, callout, EMPTY, chartBox } from '../ui.js';
import { KPI } from '../api.js';
import { scope, dayString } from '../state.js';
import { bars } from '../charts.js';
import { pct, count, stage, days, money, fixed, DASH } from '../format.js';
import { kpiRows, axisPct } from './common.js';
import { bottleneckSentence, cycleName } from './valuestream.js';

export const QUERY = `query Diagnosis($s: ScopeInput!) {
  diagnosis(scope: $s) {
    bottleneck bottleneckShare
    valueStream { cycle cases { ${KPI} } stages { stage share { ${KPI} } medianDays { value n } p90Days { value n } rework { value n } cases { value } } }
    leadConversion { ${KPI} } winRate { ${KPI} } wonValue { ${KPI} }
    cycles { sales { p50Days { ${KPI} } } leadToCash { p50Days { ${KPI} } } }
    adoption { rate { ${KPI} } } compliance { rate { ${KPI} } }
    cost { spend leads wonDeals perLead perWonDeal unfiltered withheld }
    stageOpportunities { rank stage score share cases medianDays p90Days rework }
    gateOpportunities { rank gate guards violations entered missing failed late rate }
    report
  }
}`;

// TILES are the baseline KPIs: where each is in the diagnosis and which way is better.
export const TILES = [
  { key: 'leadConversion', kpi: 'lead_conversion', get: (d) => d.leadConversion },
  { key: 'winRate', kpi: 'win_rate', get: (d) => d.winRate },
  { key: 'salesCycle', kpi: 'sales_cycle', stat: 'median', get: (d) => d.cycles.sales.p50Days },
  { key: 'leadToCash', kpi: 'lead_to_cash_cycle', stat: 'median', get: (d) => d.cycles.leadToCash.p50Days },
  { key: 'adoption', kpi: 'adoption', get: (d) => d.adoption.rate },
  { key: 'compliance', kpi: 'compliance', get: (d) => d.compliance.rate },
  { key: 'wonValue', kpi: 'won_value', get: (d) => d.wonValue },
];

// opportunitySentence is the finding over the ranked list (the tests compare it with the API).
export function opportunitySentence(o) {
  return `Biggest opportunity: ${stage(o.stage)} — ${pct(o.share)} of the cycle time across ${count(o.cases)} cases (median ${days(o.medianDays)}).`;
}

// defaultPeriod is the Diagnosis's period when the URL names none: the baseline window of the
// initiative that started last (by now), else the last full quarter.
export function defaultPeriod(boot, now) {
  const started = ((boot && boot.initiatives) || []).filter((i) => i.baselineFrom && i.baselineTo && Date.parse(i.start) <= now)
    .sort((a, b) => Date.parse(b.start) - Date.parse(a.start));
  if (!started.length) return { period: 'lq' };
  const b = started[0];
  return { period: 'custom', from: dayString(Date.parse(b.baselineFrom)), to: dayString(Date.parse(b.baselineTo) - 864e5) };
}

export async function render(ctx) {
  const head = ctx.add(card({ id: 'baseline', title: 'Baseline', subtitle: 'The period and filters above, against the previous period of equal length', wide: true, csvName: 'diagnosis-baseline' }));
  const cost = ctx.add(card({ id: 'cost', title: 'Marketing cost', subtitle: 'Spend pro-rated to the period, per lead created and per deal won', csvName: 'diagnosis-cost' }));
  const stream = ctx.add(card({ id: 'valuestream', title: 'Value stream', subtitle: 'Share of the sales cycle (case start → won) in each stage, cases that completed it in the period', tall: true, csvName: 'diagnosis-value-stream' }));
  const opp = ctx.add(card({ id: 'opportunities', title: 'Improvement opportunities: stages', subtitle: 'Ranked by score = share of the cycle time × cases reaching the stage', wide: true, csvName: 'diagnosis-stage-opportunities' }));
  const gates = ctx.add(card({ id: 'gate-opportunities', title: 'Improvement opportunities: quality gates', subtitle: 'Ranked by violations: missing, failed or passed late', wide: true, csvName: 'diagnosis-gate-opportunities' }));
  const stages = ctx.add(card({ id: 'stages', title: 'Value stream table', subtitle: 'Rework = cases with the stage at least twice ÷ cases reaching it', wide: true, csvName: 'diagnosis-stages' }));
  const text = ctx.add(card({ id: 'report', title: 'Report as text', subtitle: 'For notes and e-mail', wide: true, csvName: 'diagnosis-report' }));
  const cards = [head, cost, stream, opp, gates, stages, text];
  let res;
  try {
    res = await ctx.query(QUERY, { s: scope(ctx.params) });
  } catch (e) {
    for (const c of cards) c.error(e, () => ctx.setParams({}));
    return;
  }
  if (!ctx.alive()) return;
  const d = () => res.get('diagnosis');

  head.fill((body) => {
    const x = d();
    // The diagnosis maps the whole lead-to-cash value stream.
    if (x.bottleneck) body.append(callout(bottleneckSentence(x.bottleneck, x.bottleneckShare, cycleName(x.valueStream.cycle)), 'warn'));
    tiles(body, TILES.map((t, i) => tile(t, t.get(x), null, i)));
    head.csv(kpiRows(TILES.map((t) => [t.key, kpiSpec(t).unit, t.get(x)])));
  });

  cost.fill((body) => {
    const c = d().cost;
    if (c.spend === 0 && c.leads === 0 && c.wonDeals === 0) return EMPTY;
    // Not KpiValues (no previous period): plain tiles with what each is divided by.
    const plain = (key, label, v, note) => h('article.tile', { 'data-kpi': key, 'data-state': 'ready' },
      h('h3', label), h('div.tile-value', v == null ? DASH : money(v)), h('div.tile-n', note));
    body.append(h('div.tiles',
      plain('spend', 'Marketing spend', c.spend, 'pro-rated to the period'),
      plain('perLead', 'Cost per lead', c.perLead, `spend ÷ ${count(c.leads)} leads`),
      plain('perWonDeal', 'Cost per won deal', c.perWonDeal, `spend ÷ ${count(c.wonDeals)} deals won`)));
    if (c.withheld.length) {
      body.append(h('p.sub', `Marketing spend is not recorded by ${c.withheld.map((u) => u.toLowerCase().replace('_', ' ')).join(', ')}, which your access is limited to: it is not shown.`));
    }
    if (c.unfiltered.length) {
      body.append(h('p.sub', `Spend is recorded by business unit and channel only, so it is not filtered by ${c.unfiltered.map((u) => u.toLowerCase().replace('_', ' ')).join(', ')}: the costs per lead and per deal are overstated.`));
    }
    cost.csv([['spend', 'leads', 'won_deals', 'per_lead', 'per_won_deal', 'unfiltered'], [c.spend, c.leads, c.wonDeals, c.perLead ?? '', c.perWonDeal ?? '', c.unfiltered.join(' ')]]);
  });

  stream.fill((body) => {
    const x = d();
    const vs = x.valueStream;
    if (!x.bottleneck || vs.cases.value === 0) return EMPTY;
    const box = chartBox('tall');
    body.append(box);
    bars(box, { categories: vs.stages.map((s) => stage(s.stage)), series: [{ name: 'Share of cycle time', data: vs.stages.map((s) => s.share.value) }], fmt: pct, axisFmt: axisPct, horizontal: true, highlight: stage(x.bottleneck), labels: true });
    stream.csv([['stage', 'share', 'share_previous'], ...vs.stages.map((s) => [s.stage, s.share.value, s.share.previous])]);
  });

  opp.fill((body) => {
    const os = d().stageOpportunities;
    if (!os.length) return EMPTY;
    body.append(callout(opportunitySentence(os[0]), 'info'));
    body.append(table(
      [{ label: '#', num: true }, { label: 'Stage' }, { label: 'Score', num: true }, { label: 'Share of cycle', num: true }, { label: 'Cases', num: true },
        { label: 'Median', num: true }, { label: 'P90', num: true }, { label: 'Rework', num: true }],
      os.map((o) => [String(o.rank), stage(o.stage), fixed(o.score, 1), pct(o.share), count(o.cases), days(o.medianDays), days(o.p90Days), pct(o.rework)]),
      (i) => ({ 'data-rank': String(os[i].rank), 'data-stage': os[i].stage, class: i === 0 ? 'hl' : '' })));
    opp.csv([['rank', 'stage', 'score', 'share', 'cases', 'median_days', 'p90_days', 'rework'],
      ...os.map((o) => [o.rank, o.stage, o.score, o.share, o.cases, o.medianDays, o.p90Days, o.rework])]);
  });

  gates.fill((body) => {
    const gs = d().gateOpportunities;
    if (!gs.length) return EMPTY;
    body.append(table(
      [{ label: '#', num: true }, { label: 'Gate' }, { label: 'Guards' }, { label: 'Violations', num: true }, { label: 'Missing', num: true },
        { label: 'Failed', num: true }, { label: 'Late', num: true }, { label: 'Entered', num: true }, { label: 'Compliance', num: true }],
      gs.map((g) => [String(g.rank), stage(g.gate), stage(g.guards), count(g.violations), count(g.missing), count(g.failed), count(g.late), count(g.entered), pct(g.rate)]),
      (i) => ({ 'data-rank': String(gs[i].rank), 'data-gate': gs[i].gate })));
    gates.csv([['rank', 'gate', 'guards', 'violations', 'missing', 'failed', 'late', 'entered', 'compliance'],
      ...gs.map((g) => [g.rank, g.gate, g.guards, g.violations, g.missing, g.failed, g.late, g.entered, g.rate])]);
  });

  stages.fill((body) => {
    const x = d();
    const vs = x.valueStream;
    if (vs.cases.value === 0) return EMPTY;
    const dd = (v) => (v.n > 0 ? days(v.value) : DASH);
    body.append(table(
      [{ label: 'Stage' }, { label: 'Share of time', num: true }, { label: 'Prev. period', num: true }, { label: 'Median', num: true }, { label: 'P90', num: true }, { label: 'Rework', num: true }, { label: 'Cases', num: true }],
      vs.stages.map((s) => [s.stage === x.bottleneck ? h('strong', stage(s.stage), ' ', h('span.badge.bad', 'bottleneck')) : stage(s.stage),
        pct(s.share.value), s.share.previousN > 0 ? pct(s.share.previous) : DASH, dd(s.medianDays), dd(s.p90Days), s.rework.n > 0 ? pct(s.rework.value) : DASH, count(s.cases.value)]),
      (i) => ({ 'data-stage': vs.stages[i].stage, class: vs.stages[i].stage === x.bottleneck ? 'hl' : '' })));
    stages.csv([['stage', 'share', 'share_previous', 'median_days', 'p90_days', 'rework', 'cases'],
      ...vs.stages.map((s) => [s.stage, s.share.value, s.share.previous, s.medianDays.value, s.p90Days.value, s.rework.value, s.cases.value])]);
  });

  text.fill((body) => {
    const x = d();
    if (x.valueStream.cases.value === 0 && x.leadConversion.n === 0) return EMPTY;
    // On screen the text sits in a closed <details>; a printout shows it without being opened.
    body.append(h('details.report', h('summary', 'Show the plain-text report'), h('pre.report-text', x.report)),
      h('pre.report-text.print-only', { 'data-testid': 'report-print' }, x.report));
    text.csv([['line'], ...x.report.split('\n').map((l) => [l])]);
  });
}

