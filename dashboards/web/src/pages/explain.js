// Why did it move: a panel over a page explaining a headline KPI's change against the previous
// period (GraphQL explainChange): per dimension offered as a filter, each value's mix effect (its
// share of the scope changed) and rate effect (it did better or worse), which add up to the change.
// The `explain` param (a catalog KPI name) opens it, so an explanation is a shareable link too.

import { kpiSpec } from '../catalog.js';
import { gql } from '../api.js';
import { scope, dims } from '../state.js';
import { h, table, sidePanel } from '../ui.js';
import { FORMATS, kpi, kpiChange, groupName, count } from '../format.js';

// EXPLAINABLE are the catalog KPIs explainChange splits (the sales cycle on its mean).
export const EXPLAINABLE = ['lead_conversion', 'win_rate', 'sales_cycle', 'adoption', 'compliance'];

const QUERY = `query Explain($kpi: String!, $s: ScopeInput!) {
  explainChange(kpi: $kpi, scope: $s) {
    value { value previous change n previousN }
    splits { name mix rate contributions { value n previousN weight previousWeight mix rate total } }
  }
}`;

// largest lists the n largest effects over every split, each as its larger part (mix or rate).
function largest(x, n) {
  const all = [];
  for (const s of x.splits) {
    const title = (dims().find((d) => d.key === s.name) || { label: s.name }).label;
    for (const c of s.contributions) {
      const rate = Math.abs(c.rate) >= Math.abs(c.mix);
      all.push({ name: rate ? groupName(c.value) : `${title} mix (${groupName(c.value)})`, effect: rate ? c.rate : c.mix, kind: rate ? 'rate' : 'mix' });
    }
  }
  return all.sort((a, b) => Math.abs(b.effect) - Math.abs(a.effect)).slice(0, n);
}

// explainSentence is the one-line answer: "Lead conversion −3.1 pp: North −2.4 pp (rate), …".
export function explainSentence(spec, x) {
  const ch = FORMATS[spec.unit].change;
  const parts = largest(x, 3).map((p) => `${p.name} ${ch(p.effect)} (${p.kind})`);
  return `${spec.label} ${kpiChange(x.value, spec.unit)}: ${parts.join(', ')}`;
}

// openExplain shows (or closes) the explanation panel for the `explain` param.
export async function openExplain(ctx) {
  const name = ctx.params.get('explain');
  let panel = document.getElementById('explain-panel');
  if (!name || !EXPLAINABLE.includes(name)) {
    if (panel) panel.remove();
    return;
  }
  const spec = kpiSpec({ kpi: name });
  const close = () => ctx.setParams({ explain: null });
  const opened = sidePanel('explain-panel', { 'aria-label': `Why ${spec.label} moved`, 'data-kpi': name },
    `Why ${spec.label.toLowerCase()} moved`,
    'Against the previous period of equal length; mix = the value\'s share changed, rate = the value did better or worse', close);
  panel = opened.panel;
  const body = opened.body;
  try {
    const by = dims().map((d) => d.key);
    const r = await gql(QUERY, { kpi: name, s: scope(ctx.params, { groupByNames: by }) });
    const x = r.get('explainChange');
    if (x.value.n === 0 || x.value.previousN === 0) {
      panel.dataset.state = 'empty';
      body.replaceChildren(h('div.state.empty', h('strong', 'Nothing to compare'), h('p', 'One of the two periods has no data for this KPI.')));
      return;
    }
    const ch = FORMATS[spec.unit].change;
    const val = FORMATS[spec.unit].value;
    const note = name === 'sales_cycle' ? [h('p.sub', `Split on the mean (${kpi(x.value, 'days', 'previous')} → ${kpi(x.value, 'days')}); the tile shows the median, and medians do not add up.`)] : [];
    // A KPI still maturing (catalog) says so: part of its change may be the older period's head start.
    if (spec.maturity) note.push(h('p.sub.maturity-note', { 'data-testid': 'maturity' }, `Still maturing: ${spec.maturity}`));
    body.replaceChildren(
      h('p.callout.info', { 'data-testid': 'explain-sentence' }, explainSentence(spec, x)),
      ...note,
      ...x.splits.map((s) => {
        const title = (dims().find((d) => d.key === s.name) || { label: s.name }).label;
        return h('section.split', { 'data-dimension': s.name },
          h('h3', `${title}: mix ${ch(s.mix)}, rate ${ch(s.rate)}`),
          table([{ label: title }, { label: 'n', num: true }, { label: 'Share', num: true }, { label: 'Mix', num: true }, { label: 'Rate', num: true }, { label: 'Total', num: true }],
            s.contributions.slice(0, 8).map((c) => [groupName(c.value), `${count(c.previousN)} → ${count(c.n)}`,
              `${FORMATS.ratio.value(c.previousWeight)} → ${FORMATS.ratio.value(c.weight)}`, ch(c.mix), ch(c.rate), ch(c.total)]),
            (i) => ({ 'data-value': s.contributions[i].value })));
      }),
      h('p.sub', `${spec.label}: ${kpi(x.value, spec.unit, 'previous')} → ${val(x.value.value)}.`));
    panel.dataset.state = 'ready';
  } catch (e) {
    panel.dataset.state = 'error';
    body.replaceChildren(h('div.state.error', { role: 'alert' }, h('strong', 'Could not explain the change'), h('p', e.message)));
  }
}
