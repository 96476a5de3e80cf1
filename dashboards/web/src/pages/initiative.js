// Initiative: is the pilot working? The chosen initiative's per-sprint series against the baseline
// (a reference line) and the target, pilot vs baseline and pilot vs control with n on both sides and
// the significance in words, progress toward the targets, and the rollout per business unit against
// its wave date with the units behind plan flagged. The initiative defines its own windows, so the
// period and filters do not apply (main.js hides them: `scopeless`). The `id` param picks the
// initiative (default: the one that started last); `kpi` picks the sprint chart's KPI without a
// reload (an overlay param).

import { h, card, table, callout, EMPTY, chartBox } from '../ui.js';
import { lines, bars, COLORS } from '../charts.js';
import { pct, days, count, date, significance, FORMATS, DASH } from '../format.js';
import { axisPct } from './common.js';

export const scopeless = true;
export const overlay = ['kpi'];

// KPIS are the initiative KPIs in display order; n says what a sample counts.
export const KPIS = [
  { key: 'LEAD_CONVERSION', label: 'Lead conversion', n: 'leads' },
  { key: 'WIN_RATE', label: 'Win rate', n: 'closed deals' },
  { key: 'SALES_CYCLE', label: 'Sales cycle (median)', n: 'signed contracts' },
  { key: 'ADOPTION', label: 'Process adoption', n: 'cases' },
  { key: 'COMPLIANCE', label: 'Gate compliance', n: 'cases' },
];

const S = 'from to value n successes';
const T = 'test z u p significant';

export const QUERY = `query Initiative($id: ID!) {
  initiative(id: $id) { id name description pilotUnits controlUnits baselineFrom baselineTo start sprintDays source waves { businessUnit plannedAt } targets { kpi value } }
  pilotReport(id: $id) {
    kpi unit higherIsBetter asOf baseline { ${S} } pilot { ${S} } change relChange significance { ${T} }
    control { ${S} } controlChange vsControl { ${T} }
    sprints { sprint from to complete pilot { value n } baseline change significance { p significant } control { value n } }
    target { target progress latestProgress reached wrongSide problem }
  }
  rollout(id: $id) {
    asOf bar barSource behind
    units { businessUnit role date status behind gap adoptionBefore { value n } adoptionAfter { value n } adoptionChange adoptionTest { p significant } complianceBefore { value n } complianceAfter { value n } complianceChange }
  }
  certification { units { businessUnit employees certified share } }
}`;

const STATUS = {
  PLANNED: ['planned', ''], RAMP_UP: ['ramping up', ''], ON_TRACK: ['on track', 'good'], BEHIND: ['behind plan', 'bad'], NOT_PLANNED: [null, ''],
};
const ROLE = { PILOT: 'Pilot', WAVE: 'Wave', CONTROL: 'Control', NONE: '—' };

// selected returns the initiative of the params, else the one that started last.
export function selected(params, list) {
  const id = params.get('id');
  if (id) return id;
  if (!list || !list.length) return null;
  return [...list].sort((a, b) => Date.parse(b.start) - Date.parse(a.start) || a.id.localeCompare(b.id))[0].id;
}

// describe names the initiative for the print header.
export function describe(params, boot) {
  const list = (boot && boot.initiatives) || [];
  const id = selected(params, list);
  const i = list.find((x) => x.id === id);
  return i ? `${i.name} (${i.id})` : id || 'no initiative defined';
}

export function kpiOf(params) {
  return KPIS.find((k) => k.key === params.get('kpi')) || KPIS[0];
}

// value formats a sample's value in the report's unit; "—" over nothing.
export function value(s, unit) {
  if (!s || s.n === 0) return DASH;
  return unit === 'DAYS' ? days(s.value) : pct(s.value);
}

function change(v, unit) {
  if (v == null) return DASH;
  return (unit === 'DAYS' ? FORMATS.days : FORMATS.ratio).change(v);
}

// changeCell colours a change by whether it is an improvement.
function changeCell(v, unit, higherIsBetter) {
  if (v == null) return DASH;
  const cls = Math.abs(v) < 1e-12 ? 'flat' : (v > 0) === higherIsBetter ? 'good' : 'bad';
  return h('span.tile-change.' + cls, change(v, unit));
}

// sig renders a test in words; data-p carries the exact p-value. A significant change for the
// worse (by the KPI's direction) is drawn as bad, never as good news.
function sig(t, v, higherIsBetter) {
  const worse = v != null && Math.abs(v) > 1e-12 && (v > 0) !== higherIsBetter;
  const cls = !(t && t.significant) ? 'no' : worse ? 'worse' : 'yes';
  return h('span.sig.' + cls, { 'data-p': t && t.p != null ? String(t.p) : '' }, significance(t) + (cls === 'worse' ? ' (worse)' : ''));
}

// headline is the sentence over the page: the first KPI's baseline → pilot, change and significance.
export function headline(label, r) {
  if (!r || r.baseline.n === 0 || r.pilot.n === 0) return `${label}: not enough data yet to compare the pilot with its baseline.`;
  return `${label}: ${value(r.baseline, r.unit)} → ${value(r.pilot, r.unit)} (${change(r.change, r.unit)}), ${significance(r.significance)}.`;
}

export async function render(ctx) {
  const list = ctx.initiatives || [];
  const id = selected(ctx.params, list);
  const kpi = kpiOf(ctx.params);
  const def = ctx.add(card({ id: 'definition', title: 'Initiative', subtitle: 'Pilot units run the new process from the start; each sprint is compared with their baseline', wide: true, csvName: 'initiative-definition' }));
  const sprints = ctx.add(card({ id: 'sprints', title: 'Sprint by sprint', subtitle: 'The pilot units per sprint against their baseline (dashed) and the target', wide: true, tall: true, csvName: 'initiative-sprints' }));
  const pilot = ctx.add(card({ id: 'pilot', title: 'Pilot vs baseline', subtitle: 'The pilot units since the start against the same units over the baseline window', wide: true, csvName: 'initiative-pilot-vs-baseline' }));
  const control = ctx.add(card({ id: 'control', title: 'Pilot vs control', subtitle: 'The pilot units against the control units over the same weeks', wide: true, csvName: 'initiative-pilot-vs-control' }));
  const targets = ctx.add(card({ id: 'targets', title: 'Progress to targets', subtitle: '(value − baseline) ÷ (target − baseline): 100% = target reached', wide: true, csvName: 'initiative-targets' }));
  const roll = ctx.add(card({ id: 'rollout', title: 'Rollout', subtitle: 'Adoption and compliance of each business unit before and after its date (pilot: the start; waves: the planned date)', wide: true, csvName: 'initiative-rollout' }));
  const cards = [def, sprints, pilot, control, targets, roll];
  if (!id) {
    for (const c of cards) c.empty('No initiative is defined. Declare one under initiatives: in ltc.yaml, or create one with the upsertInitiative mutation.');
    return;
  }
  let res;
  try {
    res = await ctx.query(QUERY, { id });
  } catch (e) {
    for (const c of cards) c.error(e, () => ctx.setParams({}));
    return;
  }
  if (!ctx.alive()) return;
  const reports = () => res.get('pilotReport');
  const report = (key) => reports().find((r) => r.kpi === key);

  def.fill((body) => {
    const i = res.get('initiative');
    const options = list.some((x) => x.id === id) ? list : [...list, { id, name: i.name }];
    body.append(h('div.picker', h('label', h('span', 'Initiative '),
      h('select#f-initiative', { 'aria-label': 'Initiative', onchange: (e) => ctx.setParams({ id: e.target.value, kpi: null }) },
        options.map((x) => h('option', { value: x.id, selected: x.id === id }, x.name))))));
    const lc = report('LEAD_CONVERSION');
    body.append(callout(headline(KPIS[0].label, lc), lc && lc.significance.significant ? 'info' : 'warn'));
    const asOf = reports().length ? reports()[0].asOf : null;
    const done = lc ? lc.sprints.filter((s) => s.complete).length : 0;
    const rows = [
      ['Name', i.name], ['Description', i.description || DASH], ['Pilot units', i.pilotUnits.join(', ')],
      ['Control units', i.controlUnits.length ? i.controlUnits.join(', ') : 'none'],
      ['Baseline', `${date(i.baselineFrom)} – ${date(Date.parse(i.baselineTo) - 864e5)}`],
      ['Start', date(i.start)], ['Sprints', `${i.sprintDays} days each; ${done} complete as of ${asOf ? date(asOf) : DASH}`],
      ['Rollout waves', i.waves.length ? i.waves.map((w) => `${w.businessUnit} on ${date(w.plannedAt)}`).join(', ') : 'none'],
      ['Defined in', i.source === 'CONFIG' ? 'the configuration (ltc.yaml)' : 'the API'],
    ];
    body.append(h('dl.defs', rows.map(([k, v]) => [h('dt', k), h('dd', v)])));
    def.csv([['field', 'value'], ['id', i.id], ...rows, ['targets', i.targets.map((t) => `${t.kpi}=${t.value}`).join(' ')]]);
  });

  // The sprint chart, redrawn for another KPI without a request (openOverlay).
  const drawSprints = (k) => sprints.fill((body) => {
    body.append(h('div.controls', h('div.seg', { role: 'group', 'aria-label': 'KPI' }, h('span', 'KPI:'),
      KPIS.map((x) => h('button', { type: 'button', 'aria-pressed': String(x === k), 'data-kpi': x.key, onclick: () => ctx.setParams({ kpi: x.key }) }, x.label)))));
    const r = report(k.key);
    if (!r || !r.sprints.length || r.sprints.every((s) => s.pilot.n === 0)) return EMPTY;
    const fmt = r.unit === 'DAYS' ? days : pct;
    const axisFmt = r.unit === 'DAYS' ? (v) => `${v} d` : axisPct;
    const labels = r.sprints.map((s) => `S${s.sprint} ${date(s.from).replace(/ \d{4}$/, '')}${s.complete ? '' : ' (running)'}`);
    const val = (s) => (s && s.n > 0 ? s.value : null);
    const series = [{ name: 'Pilot', data: r.sprints.map((s) => val(s.pilot)), color: COLORS[0] }];
    if (r.control) series.push({ name: 'Control', data: r.sprints.map((s) => val(s.control)), color: COLORS[8] });
    series.push({ name: 'Baseline', data: r.sprints.map(() => (r.baseline.n > 0 ? r.baseline.value : null)), dashed: true, color: COLORS[1] });
    if (r.target) series.push({ name: 'Target', data: r.sprints.map(() => r.target.target), dashed: true, color: COLORS[2] });
    const box = chartBox('tall');
    body.append(box);
    lines(box, { labels, partial: r.sprints.map((s) => !s.complete), series, fmt, axisFmt });
    sprints.csv([['sprint', 'from', 'to', 'complete', 'pilot', 'pilot_n', 'baseline', 'change', 'p_value', 'control', 'control_n', 'target'],
      ...r.sprints.map((s) => [s.sprint, s.from, s.to, s.complete, s.pilot.n > 0 ? s.pilot.value : '', s.pilot.n, s.baseline, s.change ?? '',
        s.significance.p ?? '', s.control && s.control.n > 0 ? s.control.value : '', s.control ? s.control.n : '', r.target ? r.target.target : ''])]);
  });
  drawSprints(kpi);
  ctx.redrawSprints = (params) => drawSprints(kpiOf(params));

  pilot.fill((body) => {
    const rs = reports();
    if (!rs.length) return EMPTY;
    body.append(table(
      [{ label: 'KPI' }, { label: 'Baseline', num: true }, { label: 'n', num: true }, { label: 'Pilot', num: true }, { label: 'n', num: true },
        { label: 'Change', num: true }, { label: 'Relative', num: true }, { label: 'Is the difference real?' }],
      rs.map((r) => {
        const k = KPIS.find((x) => x.key === r.kpi);
        return [h('span', { title: `n = ${k.n}` }, k.label), value(r.baseline, r.unit), count(r.baseline.n), value(r.pilot, r.unit), count(r.pilot.n),
          changeCell(r.change, r.unit, r.higherIsBetter), r.relChange == null ? DASH : `${r.relChange > 0 ? '+' : ''}${pct(r.relChange)}`, sig(r.significance, r.change, r.higherIsBetter)];
      }),
      (i) => ({ 'data-kpi': rs[i].kpi })));
    body.append(h('p.sub', 'Rates: two-proportion z-test; sales cycle: Mann–Whitney U test. "Significant" means p < 0.05: a difference this large would rarely arise by chance.'));
    pilot.csv([['kpi', 'unit', 'baseline', 'baseline_n', 'pilot', 'pilot_n', 'change', 'relative_change', 'test', 'z', 'p_value', 'significant'],
      ...rs.map((r) => [r.kpi, r.unit, r.baseline.value, r.baseline.n, r.pilot.value, r.pilot.n, r.change ?? '', r.relChange ?? '',
        r.significance.test, r.significance.z, r.significance.p ?? '', r.significance.significant])]);
  });

  const rsAll = (() => {
    try {
      return reports();
    } catch {
      return null;
    }
  })();
  if (rsAll && rsAll.length && !rsAll[0].control) {
    control.empty('This initiative has no control units: the pilot is compared with its own baseline only.');
  } else {
    control.fill((body) => {
      const rs = reports().filter((r) => r.control);
      if (!rs.length) return EMPTY;
      body.append(table(
        [{ label: 'KPI' }, { label: 'Control', num: true }, { label: 'n', num: true }, { label: 'Pilot', num: true }, { label: 'n', num: true },
          { label: 'Difference', num: true }, { label: 'Is it real?' }],
        rs.map((r) => [KPIS.find((x) => x.key === r.kpi).label, value(r.control, r.unit), count(r.control.n), value(r.pilot, r.unit), count(r.pilot.n),
          changeCell(r.controlChange, r.unit, r.higherIsBetter), sig(r.vsControl, r.controlChange, r.higherIsBetter)]),
        (i) => ({ 'data-kpi': rs[i].kpi })));
      control.csv([['kpi', 'unit', 'control', 'control_n', 'pilot', 'pilot_n', 'difference', 'p_value', 'significant'],
        ...rs.map((r) => [r.kpi, r.unit, r.control.value, r.control.n, r.pilot.value, r.pilot.n, r.controlChange ?? '', r.vsControl.p ?? '', r.vsControl.significant])]);
    });
  }

  targets.fill((body) => {
    const rs = reports().filter((r) => r.target);
    if (!rs.length) return EMPTY;
    const prog = (p) => (p == null ? DASH : pct(p));
    const state = (r) => (r.target.wrongSide ? h('span.badge.bad', { title: r.target.problem }, 'target on the wrong side of the baseline')
      : r.target.reached ? h('span.badge.good', 'reached')
      : r.target.latestProgress != null && r.target.latestProgress < 0 ? h('span.badge.bad', 'moving away') : h('span.badge', 'on the way'));
    body.append(table(
      [{ label: 'KPI' }, { label: 'Baseline', num: true }, { label: 'Target', num: true }, { label: 'Pilot', num: true },
        { label: 'Progress', num: true }, { label: 'Last sprint', num: true }, { label: '' }],
      rs.map((r) => [KPIS.find((x) => x.key === r.kpi).label, value(r.baseline, r.unit), value({ value: r.target.target, n: 1 }, r.unit),
        value(r.pilot, r.unit), prog(r.target.progress), prog(r.target.latestProgress), state(r)]),
      (i) => ({ 'data-kpi': rs[i].kpi })));
    const box = chartBox();
    body.append(box);
    bars(box, {
      categories: rs.map((r) => KPIS.find((x) => x.key === r.kpi).label), horizontal: true, fmt: pct, axisFmt: axisPct,
      series: [{ name: 'Whole pilot', data: rs.map((r) => r.target.progress) }, { name: 'Last complete sprint', data: rs.map((r) => r.target.latestProgress) }],
    });
    targets.csv([['kpi', 'unit', 'baseline', 'target', 'pilot', 'progress', 'latest_sprint_progress', 'reached'],
      ...rs.map((r) => [r.kpi, r.unit, r.baseline.value, r.target.target, r.pilot.value, r.target.progress ?? '', r.target.latestProgress ?? '', r.target.reached])]);
  });

  roll.fill((body) => {
    const ro = res.get('rollout');
    const us = ro.units;
    if (!us.length) return EMPTY;
    let cert = [];
    try {
      cert = res.get('certification').units;
    } catch {
      // Certification is an extra column; the rollout stands without it.
    }
    const certOf = (u) => cert.find((c) => c.businessUnit === u);
    const behind = us.filter((u) => u.behind);
    const bar = ro.bar == null ? null : `${pct(ro.bar)} (${ro.barSource === 'TARGET' ? 'the adoption target' : 'the pilot’s adoption'})`;
    body.append(callout(behind.length
      ? `${behind.length} business unit${behind.length > 1 ? 's are' : ' is'} behind plan: ${behind.map((u) => u.businessUnit).join(', ')} — adoption since the date below ${bar}.`
      : bar ? `No business unit is behind plan (bar: adoption of ${bar}).` : 'No adoption bar yet: no adoption target and no pilot data.', behind.length ? 'warn' : 'info'));
    const planned = us.filter((u) => u.role === 'PILOT' || u.role === 'WAVE');
    if (planned.length) {
      const box = chartBox();
      body.append(box);
      const v = (s) => (s.n > 0 ? s.value : null);
      bars(box, {
        categories: planned.map((u) => u.businessUnit), fmt: pct, axisFmt: axisPct,
        series: [{ name: 'Adoption before', data: planned.map((u) => v(u.adoptionBefore)), color: COLORS[8] },
          { name: 'Adoption after', data: planned.map((u) => v(u.adoptionAfter)), color: COLORS[0] }],
      });
    }
    const status = (u) => {
      const [label, cls] = STATUS[u.status] || [u.status.toLowerCase(), ''];
      return label ? h('span.badge' + (cls ? '.' + cls : ''), label) : DASH;
    };
    const rate = (s) => (s.n > 0 ? pct(s.value) : DASH);
    body.append(table(
      [{ label: 'Business unit' }, { label: 'Role' }, { label: 'Date' }, { label: 'Status' }, { label: 'Adoption before', num: true },
        { label: 'Adoption after', num: true }, { label: 'Change', num: true }, { label: 'Compliance before', num: true },
        { label: 'Compliance after', num: true }, { label: 'Certified', num: true }, { label: 'Gap to bar', num: true }],
      us.map((u) => [u.behind ? h('strong', u.businessUnit) : u.businessUnit, ROLE[u.role] || u.role,
        u.role === 'PILOT' || u.role === 'WAVE' ? date(u.date) : DASH, status(u), rate(u.adoptionBefore), rate(u.adoptionAfter),
        changeCell(u.adoptionChange, 'RATIO', true), rate(u.complianceBefore), rate(u.complianceAfter),
        certOf(u.businessUnit) ? pct(certOf(u.businessUnit).share) : DASH, u.gap == null ? DASH : change(u.gap, 'RATIO')]),
      (i) => ({ 'data-unit': us[i].businessUnit, 'data-status': us[i].status, class: us[i].behind ? 'hl' : '' })));
    roll.csv([['business_unit', 'role', 'date', 'status', 'behind', 'adoption_before', 'adoption_before_n', 'adoption_after', 'adoption_after_n',
      'adoption_change', 'compliance_before', 'compliance_after', 'certified_share', 'gap'],
    ...us.map((u) => [u.businessUnit, u.role, u.date, u.status, u.behind, u.adoptionBefore.value, u.adoptionBefore.n, u.adoptionAfter.value,
      u.adoptionAfter.n, u.adoptionChange ?? '', u.complianceBefore.value, u.complianceAfter.value, certOf(u.businessUnit) ? certOf(u.businessUnit).share : '', u.gap ?? ''])]);
  });
}

// openOverlay redraws the sprint chart for the KPI in the params (no request).
export async function openOverlay(ctx) {
  if (ctx.redrawSprints) ctx.redrawSprints(ctx.params);
}
