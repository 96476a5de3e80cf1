// URL state: every page and filter lives in the location hash (#/funnel?period=90d&business_unit=North),
// so any view can be bookmarked, shared and reloaded. The scope sent to GraphQL is derived from it.

import { date } from './format.js';

export const PAGES = [
  { id: 'overview', title: 'Overview' },
  { id: 'funnel', title: 'Funnel' },
  { id: 'valuestream', title: 'Value stream' },
  { id: 'adoption', title: 'Adoption & compliance' },
  { id: 'cash', title: 'Cash' },
  { id: 'diagnosis', title: 'Diagnosis' },
  { id: 'initiative', title: 'Initiative' },
];

// FILTER_DIMS are the built-in dimensions the filter bar offers, by catalog name; every custom
// dimension of the catalog (ltc.yaml `dimensions:`) is offered too. Titles and values come from the
// catalog (setDims).
export const FILTER_DIMS = ['business_unit', 'region', 'segment', 'product_line', 'branch'];

let offered = [];

// setDims picks the filters offered from the catalog's dimensions, in catalog order.
export function setDims(catalogDims) {
  offered = (catalogDims || []).filter((d) => d.custom || FILTER_DIMS.includes(d.name))
    .map((d) => ({ key: d.name, label: d.title, values: d.values || [] }));
}

// dims lists the filters offered: key is the URL parameter and the GraphQL FilterInput.name, label
// the catalog's title, values the catalog's values.
export function dims() {
  return offered;
}

const DAY = 864e5;

function startOfToday(now) {
  const d = new Date(now);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
}

function quarterStart(t) {
  const d = new Date(t);
  return Date.UTC(d.getUTCFullYear(), Math.floor(d.getUTCMonth() / 3) * 3, 1);
}

// PRESETS are the period choices; range returns [from, to) in ms (UTC days; today is included).
export const PRESETS = [
  { id: '28d', label: 'Last 28 days', range: (now) => { const to = startOfToday(now) + DAY; return [to - 28 * DAY, to]; } },
  { id: '90d', label: 'Last 90 days', range: (now) => { const to = startOfToday(now) + DAY; return [to - 90 * DAY, to]; } },
  { id: 'qtd', label: 'This quarter', range: (now) => [quarterStart(now), startOfToday(now) + DAY] },
  { id: 'lq', label: 'Last quarter', range: (now) => { const to = quarterStart(now); return [quarterStart(to - DAY), to]; } },
  {
    id: '12m', label: 'Last 12 months', range: (now) => {
      const to = startOfToday(now) + DAY;
      const d = new Date(to);
      return [Date.UTC(d.getUTCFullYear() - 1, d.getUTCMonth(), d.getUTCDate()), to];
    },
  },
  { id: 'custom', label: 'Custom…', range: null },
];

export const DEFAULT_PRESET = '90d';

// readRoute parses the hash into {page, params}; unknown pages fall back to the overview.
export function readRoute(hash = location.hash) {
  const raw = hash.replace(/^#\/?/, '');
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  const params = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
  const page = PAGES.some((p) => p.id === path) ? path : 'overview';
  return { page, params };
}

// href builds a hash for a page with params (empty values dropped).
export function href(page, params) {
  const p = new URLSearchParams();
  for (const [k, v] of params) if (v !== '' && v != null) p.set(k, v);
  const s = p.toString();
  return `#/${page}${s ? '?' + s : ''}`;
}

function parseDay(s) {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s || '')) return NaN;
  return Date.parse(s + 'T00:00:00Z');
}

// dayString is the YYYY-MM-DD of a time (UTC).
export function dayString(t) {
  return new Date(t).toISOString().slice(0, 10);
}

// range returns the period of the params: {from, to (exclusive), preset, label}.
export function range(params, now = Date.now()) {
  let id = params.get('period') || DEFAULT_PRESET;
  if (id === 'custom') {
    const from = parseDay(params.get('from'));
    const toIncl = parseDay(params.get('to'));
    if (!Number.isNaN(from) && !Number.isNaN(toIncl) && toIncl >= from) {
      const to = toIncl + DAY;
      return { from, to, preset: 'custom', label: `${date(from)} – ${date(toIncl)}` };
    }
    id = DEFAULT_PRESET;
  }
  const p = PRESETS.find((x) => x.id === id && x.range) || PRESETS.find((x) => x.id === DEFAULT_PRESET);
  const [from, to] = p.range(now);
  return { from, to, preset: p.id, label: `${p.label} (${date(from)} – ${date(to - DAY)})` };
}

// grainFor picks a series bucket size that gives a readable number of points for a period.
export function grainFor(r, min = 'DAY') {
  const days = (r.to - r.from) / DAY;
  const order = ['DAY', 'WEEK', 'MONTH'];
  let g = days <= 35 ? 'DAY' : days <= 200 ? 'WEEK' : 'MONTH';
  if (order.indexOf(g) < order.indexOf(min)) g = min;
  return g;
}

function iso(t) {
  return new Date(t).toISOString().replace('.000Z', 'Z');
}

// filters returns the GraphQL filters of the params.
export function filters(params) {
  const out = [];
  for (const d of offered) {
    const v = params.get(d.key);
    if (v) out.push({ name: d.key, values: [v] });
  }
  return out;
}

// scope builds a ScopeInput for the params' period and filters, with extra fields (grain, groupBy,
// more filters) merged in.
export function scope(params, extra = {}, now = Date.now()) {
  const r = range(params, now);
  const s = { from: iso(r.from), to: iso(r.to), filters: filters(params) };
  if (extra.filters) s.filters = s.filters.concat(extra.filters);
  if (extra.grain) s.grain = extra.grain;
  if (extra.groupBy) s.groupBy = extra.groupBy;
  if (extra.groupByNames) s.groupByNames = extra.groupByNames;
  return s;
}

// describe summarises the filters in words, for the print header and empty states.
export function describe(params) {
  const parts = [range(params).label];
  for (const d of offered) {
    const v = params.get(d.key);
    if (v) parts.push(`${d.label}: ${v}`);
  }
  return parts.join(' · ');
}
