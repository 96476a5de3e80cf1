// The semantic model the server serves (GraphQL `catalog`): each KPI's title, unit, direction and
// definition, and the process model's stage names. It is loaded with the boot query; pages name a
// KPI by its catalog name (`kpi: 'lead_conversion'`) and never define a label, unit or direction
// of their own (dashboards/web/assets_test.go checks every name against the catalog).

export const CATALOG_QUERY = 'catalog { kpis { name title unit direction definition rangeOn over maturity } stages { id name } dimensions { name title dimension custom distinctValues values } }';

const state = { kpis: new Map(), stages: new Map(), dimensions: [] };

const BETTER = { HIGHER: 'up', LOWER: 'down', NEUTRAL: 'neutral' };
const STAT = { median: 'median', p90: '90th percentile', mean: 'mean' };

// setCatalog stores the catalog answered by the server.
export function setCatalog(c) {
  state.kpis = new Map((c.kpis || []).map((k) => [k.name, k]));
  state.stages = new Map((c.stages || []).map((s) => [s.id, s.name]));
  state.dimensions = c.dimensions || [];
}

// kpiSpec completes a tile spec naming a catalog KPI ({key, kpi, stat?}) with its label, unit,
// direction, hint and maturity note (maturityNote); a spec without kpi is returned as it is.
export function kpiSpec(spec) {
  if (!spec.kpi) return spec;
  const k = state.kpis.get(spec.kpi);
  if (!k) return { label: spec.kpi, unit: 'count', better: 'neutral', ...spec };
  const label = spec.stat ? `${k.title} (${STAT[spec.stat]})` : k.title;
  return {
    label, unit: k.unit.toLowerCase(), better: BETTER[k.direction], ...spec,
    hint: `${k.title}: ${k.definition}; over the ${k.over}, by ${k.rangeOn}.`,
    maturity: maturityNote(spec.kpi),
  };
}

// maturityNote is the catalog's maturity note of a KPI as a sentence (undefined when its value is
// final once its period has ended). Pages show it beside every previous-period comparison of the
// KPI, whatever the period: the previous period is always one period length older, and how far
// along the current one's cases are is not known without the data.
export function maturityNote(name) {
  const m = state.kpis.get(name)?.maturity;
  return m ? `${m[0].toUpperCase()}${m.slice(1)}.` : undefined;
}

// stageName is the display name the process model gives a stage id (undefined when unknown).
export function stageName(id) {
  return state.stages.get(id);
}

// dimensions lists the catalog's dimensions: {name, title, dimension, distinctValues}.
export function dimensions() {
  return state.dimensions;
}
