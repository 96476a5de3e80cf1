// Human formatting of KPI values. The browser tests format GraphQL answers with a Go mirror of these
// rules (cmd/ltc/ui_test.go), so keep the two in step: fixed decimals (toFixed), "−0.0" shown as
// "0.0", compact amounts with k/M/B, counts with thousands separators, "—" for an undefined value.

import { stageName } from './catalog.js';

export const DASH = '—';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const SYMBOLS = { EUR: '€', USD: '$', GBP: '£', JPY: '¥', CNY: '¥' };

let currencySymbol = '€';

// setCurrency sets the currency amounts are shown in (an ISO code such as EUR).
export function setCurrency(code) {
  currencySymbol = SYMBOLS[code] || (code ? code + ' ' : '');
}

// fixed is v.toFixed(d) without a negative zero.
export function fixed(v, d) {
  const s = v.toFixed(d);
  return /^-0(\.0*)?$/.test(s) ? s.slice(1) : s;
}

function ok(v) {
  return typeof v === 'number' && Number.isFinite(v);
}

// pct formats a ratio 0..1 as a percentage with one decimal: 0.2345 → "23.5%".
export function pct(v) {
  return ok(v) ? fixed(v * 100, 1) + '%' : DASH;
}

// days formats a duration in days: one decimal below 100 days, none above.
export function days(v) {
  return ok(v) ? fixed(v, Math.abs(v) < 100 ? 1 : 0) + ' days' : DASH;
}

// commas groups the digits of a rounded number in thousands: 12345.6 → "12,346".
export function count(v) {
  if (!ok(v)) return DASH;
  const s = fixed(v, 0);
  const neg = s.startsWith('-');
  const digits = neg ? s.slice(1) : s;
  return (neg ? '-' : '') + digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

// money formats an amount compactly: 1234567 → "€1.2M", 5400 → "€5.4k", 950 → "€950".
export function money(v) {
  if (!ok(v)) return DASH;
  const a = Math.abs(v);
  const sign = v < 0 && fixed(a, 0) !== '0' ? '-' : '';
  let s;
  if (a >= 1e9) s = fixed(a / 1e9, 1) + 'B';
  else if (a >= 1e6) s = fixed(a / 1e6, 1) + 'M';
  else if (a >= 1e3) s = fixed(a / 1e3, 1) + 'k';
  else s = fixed(a, 0);
  return sign + currencySymbol + s;
}

// FORMATS maps a unit to its formatter; change formats a difference in the same unit.
export const FORMATS = {
  ratio: { value: pct, change: (d) => signed(fixed(d * 100, 1)) + ' pp' },
  days: { value: days, change: (d) => signed(fixed(d, Math.abs(d) < 100 ? 1 : 0)) + ' days' },
  money: { value: money, change: (d) => (d > 0 ? '+' : '') + money(d) },
  count: { value: count, change: (d) => (d > 0 ? '+' : '') + count(d) },
};

function signed(s) {
  return s.startsWith('-') || /^0(\.0*)?$/.test(s) ? s : '+' + s;
}

// kpi formats a KpiValue's value (or previous) in a unit; "—" when it is computed over nothing.
export function kpi(v, unit, side = 'value') {
  if (!v) return DASH;
  const n = side === 'value' ? v.n : v.previousN;
  return n > 0 ? FORMATS[unit].value(v[side]) : DASH;
}

// kpiChange formats a KpiValue's change in its unit, or "" when there is nothing to compare.
export function kpiChange(v, unit) {
  return v && ok(v.change) ? FORMATS[unit].change(v.change) : '';
}

// date formats a time (ms or ISO) as "3 Mar 2026" (UTC).
export function date(t) {
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return DASH;
  return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
}

// dateTime formats a time as "3 Mar 2026 14:05 UTC".
export function dateTime(t) {
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return DASH;
  const p = (n) => String(n).padStart(2, '0');
  return `${date(d)} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())} UTC`;
}

// bucket labels a series bucket start by its grain.
export function bucket(t, grain) {
  const d = new Date(t);
  switch (grain) {
    case 'MONTH':
      return `${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
    case 'QUARTER':
      return `Q${Math.floor(d.getUTCMonth() / 3) + 1} ${d.getUTCFullYear()}`;
    case 'YEAR':
      return String(d.getUTCFullYear());
    default:
      return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]}`;
  }
}

// ago says how long ago a time was: "5 min ago", "3 h ago", "2 days ago".
export function ago(t, now = Date.now()) {
  const s = Math.max(0, (now - new Date(t).getTime()) / 1000);
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} days ago`;
}

// stage turns a stage id into a label: solution_design → "Solution design".
export function stage(id) {
  if (!id) return 'Personal activity';
  const name = stageName(id);
  if (name) return name;
  const s = String(id).replace(/_/g, ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

// groupName labels a breakdown group's value ("" is a case without a value recorded).
export function groupName(v) {
  return v === '' || v == null ? '(not set)' : v;
}

// pValue formats a p-value: "< 0.0001" below 0.0001, else four decimals; "—" when undefined.
export function pValue(p) {
  if (!ok(p)) return DASH;
  return p < 0.0001 ? '< 0.0001' : fixed(p, 4);
}

// significance says in words whether a test found a difference (p < 0.05, as the API's
// `significant`): "significant, p = 0.0012", "not significant, p = 0.3421", or why it cannot tell.
export function significance(t) {
  if (!t || !ok(t.p)) return 'not testable (no data or no variation)';
  const p = t.p < 0.0001 ? 'p < 0.0001' : `p = ${fixed(t.p, 4)}`;
  return `${t.significant ? 'significant' : 'not significant'}, ${p}`;
}
