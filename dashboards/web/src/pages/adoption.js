// Adoption & compliance: is the new process being followed? Adoption and gate compliance by
// business unit over time, compliance per gate, and the violation list with a drill-down into a
// case's event timeline (the `case` param opens it, so a drill-down is a shareable link too).

import { kpiSpec, maturityNote } from '../catalog.js';
import { h, card, tile, tiles, table, EMPTY, chartBox, sidePanel } from '../ui.js';
import { KPI, gql } from '../api.js';
import { scope, grainFor } from '../state.js';
import { lines, bars, COLORS } from '../charts.js';
import { pct, count, stage, dateTime, date, groupName, days } from '../format.js';
import { points, kpiRows, seriesRows, axisPct } from './common.js';

// MAX_UNITS bounds the business units drawn over time (one aliased field pair each).
const MAX_UNITS = 8;
const PAGE_SIZE = 25;

export const TILES = [
  { key: 'adoptionRate', kpi: 'adoption', get: (d) => d.adoption.total.rate },
  { key: 'coverage', kpi: 'adoption_coverage', get: (d) => d.adoption.total.coverage },
  { key: 'template', kpi: 'template_adoption', get: (d) => d.adoption.total.template },
  { key: 'ironTriangle', kpi: 'iron_triangle_coverage', get: (d) => d.adoption.total.ironTriangle },
  { key: 'complianceRate', kpi: 'compliance', get: (d) => d.compliance.total.rate },
  { key: 'promiseKept', kpi: 'promise_kept', get: (d) => d.compliance.total.promiseKept },
];

const VIOLATION = 'caseId gate kind enteredAt owner ownerName businessUnit';

// VIOLATION_COLUMNS are the violation table's columns and the API order (ViolationSort) each sorts
// by; the `vsort` and `vdir` params hold the chosen order (default: newest entry first).
const VIOLATION_COLUMNS = [['Case', 'CASE'], ['Gate', 'GATE'], ['Kind', 'KIND'], ['Entered guarded stage', 'ENTERED_AT'], ['Owner', 'OWNER'], ['Business unit', 'BUSINESS_UNIT']];

// violationOrder reads the violation order from the params.
function violationOrder(params) {
  const by = params.get('vsort');
  return { by: VIOLATION_COLUMNS.some((c) => c[1] === by) ? by : 'ENTERED_AT', dir: params.get('vdir') === 'ASC' ? 'ASC' : 'DESC' };
}

// units returns the business units to draw over time.
export function units(ctx) {
  const bu = ctx.params.get('business_unit');
  return (bu ? [bu] : ctx.dims.business_unit || []).slice(0, MAX_UNITS);
}

// query builds the page's single operation for the given number of business units.
export function query(n) {
  const perUnit = [];
  const vars = [];
  for (let i = 0; i < n; i++) {
    vars.push(`$b${i}: ScopeInput!`);
    perUnit.push(`a${i}: adoption(scope: $b${i}) { series { start complete result { rate { value n lowSample low high } } } }`);
    perUnit.push(`c${i}: compliance(scope: $b${i}) { series { start complete result { rate { value n lowSample low high } } } }`);
  }
  return `query Adoption($s: ScopeInput!, $g: ScopeInput!, $v: ScopeInput!, $vo: ViolationSort, $vd: SortDirection${vars.map((v) => ', ' + v).join('')}) {
  adoption(scope: $s) { total { rate { ${KPI} } coverage { ${KPI} } template { ${KPI} } ironTriangle { ${KPI} } } series { start complete result { rate { value n lowSample low high } } } }
  adoptionByUnit: adoption(scope: $g) { groups { key { value } result { rate { ${KPI} } } } }
  compliance(scope: $s) {
    total { rate { ${KPI} } promiseKept { ${KPI} } gates { gate guards entered { value n } compliant { value } rate { ${KPI} } missing { value } failed { value } late { value } } }
    series { start complete result { rate { value n lowSample low high } } }
  }
  complianceByUnit: compliance(scope: $g) { groups { key { value } result { rate { ${KPI} } } } }
  violations(scope: $v, first: ${PAGE_SIZE}, orderBy: $vo, direction: $vd) { nodes { ${VIOLATION} } pageInfo { hasNextPage endCursor } }
  ${perUnit.join('\n  ')}
}`;
}

// overlay names the params that open a panel over the page instead of reloading it: the case,
// and for a drill-down from a violation, its gate, kind and guarded-stage entry time.
export const overlay = ['case', 'vgate', 'vkind', 'vat'];

// openViolation is the params opening a violation's case with the violation marked.
function openViolation(v) {
  return { case: v.caseId, vgate: v.gate, vkind: v.kind, vat: v.enteredAt };
}

// KIND_TEXT says how the marked event broke its gate, per violation kind.
const KIND_TEXT = {
  MISSING: (g) => `entered without a ${g} before it`,
  FAILED: (g) => `entered after a failed ${g}, none passed`,
  LATE: (g) => `entered before ${g} passed`,
};

export async function render(ctx) {
  const grain = grainFor(ctx.range);
  const us = units(ctx);
  const head = ctx.add(card({ id: 'headline', title: 'Is the process followed?', subtitle: 'This period against the previous period of equal length', wide: true, csvName: 'adoption-headline' }));
  const adoptT = ctx.add(card({ id: 'adoption-trend', title: 'Adoption by business unit over time', subtitle: `Share of cases that recorded every expected stage, per ${grain.toLowerCase()} of case start; shaded bands are 95% intervals, hollow points rest on few cases`, csvName: 'adoption-by-unit-over-time' }));
  const compT = ctx.add(card({ id: 'compliance-trend', title: 'Compliance by business unit over time', subtitle: `Cases with no gate violation, per ${grain.toLowerCase()}; shaded bands are 95% intervals, hollow points rest on few cases`, csvName: 'compliance-by-unit-over-time' }));
  const byUnit = ctx.add(card({ id: 'by-unit', title: 'By business unit', subtitle: 'Adoption and compliance this period, change against the previous period', csvName: 'adoption-compliance-by-unit' }));
  const gates = ctx.add(card({ id: 'gates', title: 'Compliance per gate', subtitle: 'Cases entering the guarded stage: compliant, or how the gate was violated', csvName: 'compliance-per-gate' }));
  const viol = ctx.add(card({ id: 'violations', title: 'Violations', subtitle: 'Gate violations by entry into the guarded stage; click a row to open the case timeline', wide: true, csvName: 'violations' }));

  const order = violationOrder(ctx.params);
  const vars = { s: scope(ctx.params, { grain }), g: scope(ctx.params, { groupBy: ['BUSINESS_UNIT'] }), v: scope(ctx.params), vo: order.by, vd: order.dir };
  us.forEach((u, i) => {
    vars[`b${i}`] = scope(ctx.params, { grain, filters: ctx.params.get('business_unit') ? [] : [{ dimension: 'BUSINESS_UNIT', values: [u] }] });
  });
  let res;
  try {
    res = await ctx.query(query(us.length), vars);
  } catch (e) {
    for (const c of [head, adoptT, compT, byUnit, gates, viol]) c.error(e, () => ctx.setParams({}));
    return;
  }
  if (!ctx.alive()) return;

  head.fill((body) => {
    const d = { adoption: res.get('adoption'), compliance: res.get('compliance') };
    const a = points(d.adoption.series, grain, (r) => r.rate);
    const c = points(d.compliance.series, grain, (r) => r.rate);
    tiles(body, TILES.map((t, i) => tile(t, t.get(d), t.key === 'adoptionRate' ? a : t.key === 'complianceRate' ? c : null, i)));
    head.csv(kpiRows(TILES.map((t) => [t.key, kpiSpec(t).unit, t.get(d)])));
  });

  const trend = (c, prefix, label) => c.fill((body) => {
    if (!us.length) return EMPTY;
    const base = res.get(`${prefix}0`).series;
    const series = us.map((u, i) => {
      const ps = points(res.get(`${prefix}${i}`).series, grain, (r) => r.rate);
      return { name: groupName(u), data: ps.map((p) => p.value), low: ps.map((p) => p.low), ci: ps.map((p) => p.ci) };
    });
    if (!base.length || series.every((s) => s.data.every((v) => v == null))) return EMPTY;
    const box = chartBox('tall');
    body.append(box);
    const pts = points(base, grain, (r) => r.rate);
    lines(box, { labels: pts.map((p) => p.label), partial: pts.map((p) => p.partial), series, fmt: pct, axisFmt: axisPct });
    c.csv(seriesRows(base.map((p) => p.start), series.map((s) => ({ ...s, name: `${label}_${s.name}` }))));
  });
  trend(adoptT, 'a', 'adoption');
  trend(compT, 'c', 'compliance');

  byUnit.fill((body) => {
    const ag = res.get('adoptionByUnit').groups;
    const cg = res.get('complianceByUnit').groups;
    const names = [...new Set([...ag, ...cg].map((g) => g.key[0].value))].sort();
    if (!names.length) return EMPTY;
    const find = (gs, n) => (gs.find((g) => g.key[0].value === n) || { result: { rate: null } }).result.rate;
    const cell = (v) => h('span', { class: 'delta' }, v && v.n > 0 ? pct(v.value) : '—',
      v && v.change != null ? h('small.' + (v.change >= 0 ? 'good' : 'bad'), ` ${v.change >= 0 ? '▲' : '▼'} ${Math.abs(v.change * 100).toFixed(1)} pp`) : null);
    // The change columns compare with the previous period: KPIs the catalog says are still maturing
    // carry a mark and their note under the table, as on the Funnel.
    const notes = [['adoption', '†'], ['compliance', '‡']].map(([k, mark]) => ({ mark, note: maturityNote(k) }));
    const head = (label, { mark, note }) => ({ label: note ? `${label} ${mark}` : label, num: true });
    body.append(table([{ label: 'Business unit' }, head('Adoption', notes[0]), head('Compliance', notes[1])],
      names.map((n) => [groupName(n), cell(find(ag, n)), cell(find(cg, n))]), (i) => ({ 'data-unit': names[i] })));
    for (const { mark, note } of notes) if (note) body.append(h('p.maturity-note', { 'data-testid': 'maturity' }, `${mark} ${note}`));
    const box = chartBox();
    body.append(box);
    bars(box, { categories: names.map(groupName), series: [{ name: 'Adoption', data: names.map((n) => val(find(ag, n))) }, { name: 'Compliance', data: names.map((n) => val(find(cg, n))) }], fmt: pct, axisFmt: axisPct });
    byUnit.csv([['business_unit', 'adoption', 'adoption_previous', 'compliance', 'compliance_previous'],
      ...names.map((n) => { const a = find(ag, n) || {}; const c = find(cg, n) || {}; return [n, a.value ?? '', a.previous ?? '', c.value ?? '', c.previous ?? '']; })]);
  });

  gates.fill((body) => {
    const gs = res.get('compliance').total.gates.filter((g) => g.entered.value > 0);
    if (!gs.length) return EMPTY;
    const cats = gs.map((g) => stage(g.gate));
    const box = chartBox();
    body.append(box);
    bars(box, {
      categories: cats, horizontal: true, stack: true, fmt: count,
      series: [
        { name: 'Compliant', data: gs.map((g) => g.compliant.value), color: COLORS[2] },
        { name: 'Missing', data: gs.map((g) => g.missing.value), color: '#dc2626' },
        { name: 'Failed', data: gs.map((g) => g.failed.value), color: '#f97316' },
        { name: 'Late', data: gs.map((g) => g.late.value), color: '#facc15' },
      ],
    });
    body.append(table([{ label: 'Gate' }, { label: 'Guards' }, { label: 'Entered', num: true }, { label: 'Compliance', num: true }, { label: 'Prev. period', num: true }],
      gs.map((g, i) => [cats[i], stage(g.guards), count(g.entered.value), pct(g.rate.value), g.rate.previousN > 0 ? pct(g.rate.previous) : '—']),
      (i) => ({ 'data-gate': gs[i].gate })));
    gates.csv([['gate', 'guards', 'entered', 'compliant', 'rate', 'rate_previous', 'missing', 'failed', 'late'],
      ...gs.map((g) => [g.gate, g.guards, g.entered.value, g.compliant.value, g.rate.value, g.rate.previous, g.missing.value, g.failed.value, g.late.value])]);
  });

  viol.fill((body) => {
    const conn = res.get('violations');
    if (!conn.nodes.length) return EMPTY;
    const rows = [...conn.nodes];
    const tbody = h('tbody');
    const addRows = (list) => tbody.append(...list.map((v) => h('tr.click', {
      tabindex: '0', 'data-case': v.caseId,
      onclick: () => ctx.setParams(openViolation(v)),
      onkeydown: (e) => { if (e.key === 'Enter') ctx.setParams(openViolation(v)); },
    }, h('td', h('a', { href: '#', onclick: (e) => e.preventDefault() }, v.caseId)), h('td', stage(v.gate)), h('td', h('span.badge.' + v.kind.toLowerCase(), v.kind.toLowerCase())),
    h('td', dateTime(v.enteredAt)), h('td', { title: v.owner || '' }, v.ownerName || v.owner || '—'), h('td', v.businessUnit || '—'))));
    addRows(rows);
    const setCsv = () => viol.csv([['case_id', 'gate', 'kind', 'entered_at', 'owner', 'owner_name', 'business_unit'], ...rows.map((v) => [v.caseId, v.gate, v.kind, v.enteredAt, v.owner || '', v.ownerName || '', v.businessUnit || ''])]);
    let cursor = conn.pageInfo.endCursor;
    const more = h('button', { type: 'button', hidden: !conn.pageInfo.hasNextPage }, 'Show more');
    more.addEventListener('click', async () => {
      more.disabled = true;
      try {
        const r = await gql(`query MoreViolations($v: ScopeInput!, $after: String, $vo: ViolationSort, $vd: SortDirection) { violations(scope: $v, first: ${PAGE_SIZE}, after: $after, orderBy: $vo, direction: $vd) { nodes { ${VIOLATION} } pageInfo { hasNextPage endCursor } } }`, { v: vars.v, after: cursor, vo: vars.vo, vd: vars.vd });
        const next = r.get('violations');
        rows.push(...next.nodes);
        addRows(next.nodes);
        cursor = next.pageInfo.endCursor;
        more.hidden = !next.pageInfo.hasNextPage;
        setCsv();
      } catch (e) {
        more.textContent = `Could not load more: ${e.message}`;
      }
      more.disabled = false;
    });
    body.append(h('div.table-wrap', h('table.violations',
      h('thead', h('tr', VIOLATION_COLUMNS.map(([label, by]) => {
        const on = order.by === by;
        const next = on && order.dir === 'DESC' ? 'ASC' : on ? 'DESC' : by === 'ENTERED_AT' ? 'DESC' : 'ASC';
        return h('th', { 'aria-sort': on ? (order.dir === 'ASC' ? 'ascending' : 'descending') : 'none' },
          h('button.sort', { type: 'button', 'data-sort': by, title: `Sort by ${label.toLowerCase()}`, onclick: () => ctx.setParams({ vsort: by, vdir: next }) },
            label, on ? (order.dir === 'ASC' ? ' ▲' : ' ▼') : ''));
      }))), tbody)), h('div.more', more));
    setCsv();
  });

  await openCase(ctx);
}

function val(v) {
  return v && v.n > 0 ? v.value : null;
}

// openCase shows (or closes) the timeline panel for the `case` param.
export async function openCase(ctx) {
  const id = ctx.params.get('case');
  let panel = document.getElementById('case-panel');
  if (!id) {
    if (panel) panel.remove();
    return;
  }
  const close = () => ctx.setParams({ case: null, vgate: null, vkind: null, vat: null });
  const gate = ctx.params.get('vgate');
  const kind = ctx.params.get('vkind');
  const enteredAt = Date.parse(ctx.params.get('vat') || '');
  const opened = sidePanel('case-panel', { 'aria-label': `Case ${id}`, 'data-case': id }, `Case ${id}`,
    'Every event of the case, in order; gate outcomes and personal-tier activities included', close);
  panel = opened.panel;
  const body = opened.body;
  try {
    const r = await gql('query CaseTimeline($id: ID!) { caseTimeline(caseId: $id) { stage activity occurredAt actorId actorRole outcome templateUsed source seq } }', { id });
    const ev = r.get('caseTimeline');
    if (!ev.length) {
      panel.dataset.state = 'empty';
      body.replaceChildren(h('div.state.empty', h('strong', 'No events'), h('p', `No events are recorded for case ${id}.`)));
      return;
    }
    const first = Date.parse(ev[0].occurredAt);
    const last = Date.parse(ev[ev.length - 1].occurredAt);
    body.replaceChildren(
      h('p.sub', `${ev.length} events from ${date(first)} to ${date(last)} (${days((last - first) / 864e5)}).`),
      gate ? h('p.callout.warn', `Marked: the ${kind ? kind.toLowerCase() : ''} ${stage(gate)} gate — the guarded stage's first entry and the gate's own events.`) : null,
      h('ol.timeline', ev.map((e) => {
        // The violating event is the guarded stage's first entry (at the violation's time); the
        // gate's own events are marked beside it.
        const violating = gate && e.stage && e.stage !== gate && Date.parse(e.occurredAt) === enteredAt;
        const cls = [e.stage ? '' : 'personal', violating ? 'violating' : '', gate && e.stage === gate ? 'gate-event' : ''].filter(Boolean).join(' ');
        return h('li', { class: cls, 'data-stage': e.stage || '' },
        h('time', dateTime(e.occurredAt)),
        h('div', h('strong', e.stage ? stage(e.stage) : 'Personal activity'), ' · ', e.activity,
          e.outcome ? h('span.badge.' + (e.outcome === 'pass' ? 'good' : 'bad'), e.outcome) : null,
          e.templateUsed ? h('span.badge', 'template') : null,
          violating && KIND_TEXT[kind] ? h('span.badge.bad', KIND_TEXT[kind](stage(gate))) : null),
        h('div.who', [e.actorId, e.actorRole && `(${e.actorRole})`, `source: ${e.source}`].filter(Boolean).join(' ')));
      })));
    panel.dataset.state = 'ready';
  } catch (e) {
    panel.dataset.state = 'error';
    body.replaceChildren(h('div.state.error', { role: 'alert' }, h('strong', 'Could not load the case'), h('p', e.message)));
  }
}
export const openOverlay = openCase;
