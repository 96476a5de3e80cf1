// ltc executive dashboards: a small single-page app over the public GraphQL API. The location hash
// holds the page and its filters; each page load asks one GraphQL query (plus one boot query for
// the filter values, the initiatives and data freshness when the app starts or new data lands).

import './style.css';
import { gql, requestCount, onUnauthenticated, signIn, signOut, session } from './api.js';
import { PAGES, PRESETS, readRoute, href, range, dayString, describe, scope, dims, setDims } from './state.js';
import { h, csvRegistry, csvText } from './ui.js';
import { dateTime, ago, setCurrency } from './format.js';
import { CATALOG_QUERY, setCatalog } from './catalog.js';
import { disposeAll, settled, resizeAll, firstChartMs } from './charts.js';
import * as overview from './pages/overview.js';
import * as funnel from './pages/funnel.js';
import * as valuestream from './pages/valuestream.js';
import * as adoption from './pages/adoption.js';
import * as cash from './pages/cash.js';
import * as diagnosis from './pages/diagnosis.js';
import * as initiative from './pages/initiative.js';

const RENDERERS = { overview, funnel, valuestream, adoption, cash, diagnosis, initiative };
// globals are the params every page shares (kept when switching pages): the period and the filters.
const globals = () => ['period', 'from', 'to', ...dims().map((d) => d.key)];
const POLL_MS = 30000;

setCurrency(document.body.dataset.currency || 'EUR');

const app = {
  gen: 0,
  boot: null, // {dataVersion, freshness, dims: {key: [values]}, initiatives: [{id, name, start}]}
  dimSels: {}, // filter key → its <select>, built from the catalog's dimensions at boot
  rendered: 0, // completed renders (tests wait for it to grow)
  shown: null, // routeKey of the view on screen
  ctx: null,
};

// The test hook: request count, readiness, CSV of a card, time to first chart.
window.__ltc = {
  get requests() { return requestCount(); },
  get firstChartMs() { return firstChartMs(); },
  get dataVersion() { return app.boot ? app.boot.dataVersion : null; },
  get rendered() { return app.rendered; },
  scope: () => scope(readRoute().params),
  csv: (id) => (csvRegistry.has(id) ? csvText(csvRegistry.get(id)) : null),
  csvText: (rows) => csvText(rows),
  poll: () => poll(),
  // forgetDataVersion makes the next poll see new data (tests of the refresh path).
  forgetDataVersion: () => { if (app.boot) app.boot.dataVersion = -1; },
};

// --- layout -------------------------------------------------------------------------------------

const nav = h('nav.tabs', { 'aria-label': 'Dashboards' });
const freshness = h('div.freshness', { 'data-testid': 'freshness' }, 'Checking data…');
const periodSel = h('select#f-period', { 'aria-label': 'Period' }, PRESETS.map((p) => h('option', { value: p.id }, p.label)));
const fromIn = h('input#f-from', { type: 'date', 'aria-label': 'From (inclusive)' });
const toIn = h('input#f-to', { type: 'date', 'aria-label': 'To (inclusive)' });
const custom = h('span.custom', fromIn, h('span', '–'), toIn);
const dimBox = h('span.dims');
const printBtn = h('button.ghost', { type: 'button', onclick: () => window.print(), title: 'Print or save as PDF' }, 'Print');
const resetBtn = h('button.ghost', { type: 'button', onclick: () => go(readRoute().page, new URLSearchParams()), title: 'Clear all filters' }, 'Reset');
const filterBar = h('form.filters', { 'aria-label': 'Filters', onsubmit: (e) => e.preventDefault() },
  h('label', h('span', 'Period'), periodSel), custom,
  dimBox,
  h('span.spacer'), resetBtn, printBtn);
const printHead = h('div.print-only.print-head');
const banner = h('div.banner', { role: 'status', hidden: true });
const main = h('main#page', { tabindex: '-1' });
const who = h('span.who', { hidden: true, 'data-testid': 'who' });

document.body.replaceChildren(
  h('header.top',
    h('a.brand', { href: '#/overview' }, h('span.logo', 'LTC'), h('span', 'Lead-to-Cash')),
    nav, freshness, who),
  filterBar, banner, printHead, main,
  h('footer.foot', 'Figures come from the ltc GraphQL API (', h('a', { href: '/graphql' }, '/graphql'), '). Each value is compared with the previous period of equal length.'));

function go(page, params) {
  const target = href(page, params);
  if (location.hash === target) {
    app.shown = null; // same URL: reload the view (e.g. Retry)
    render();
  }
  else location.hash = target;
}

// setParams changes some params of the current route (value '' or null removes one).
export function setParams(patch) {
  const { page, params } = readRoute();
  for (const [k, v] of Object.entries(patch)) {
    if (v === '' || v == null) params.delete(k);
    else params.set(k, v);
  }
  go(page, params);
}

periodSel.addEventListener('change', () => {
  const { params } = readRoute();
  if (periodSel.value === 'custom') {
    const r = range(params);
    setParams({ period: 'custom', from: dayString(r.from), to: dayString(r.to - 864e5) });
  } else {
    setParams({ period: periodSel.value, from: null, to: null });
  }
});
for (const input of [fromIn, toIn]) {
  input.addEventListener('change', () => {
    if (fromIn.value && toIn.value && fromIn.value <= toIn.value) setParams({ period: 'custom', from: fromIn.value, to: toIn.value });
  });
}
// buildFilters makes one <select> per filter the catalog offers (state.js dims).
function buildFilters() {
  app.dimSels = {};
  dimBox.replaceChildren(...dims().map((d) => {
    const sel = h(`select#f-${d.key}`, { 'aria-label': d.label, 'data-dim': d.key });
    sel.addEventListener('change', (e) => setParams({ [d.key]: e.target.value, case: null }));
    app.dimSels[d.key] = sel;
    return h('label', h('span', d.label), sel);
  }));
}

function syncControls(page, params) {
  const r = range(params);
  const kept = new URLSearchParams();
  for (const k of globals()) if (params.get(k)) kept.set(k, params.get(k));
  nav.replaceChildren(...PAGES.map((p) => h('a', { href: href(p.id, kept), 'aria-current': p.id === page ? 'page' : null, 'data-page': p.id }, p.title)));
  periodSel.value = r.preset;
  custom.hidden = r.preset !== 'custom';
  fromIn.value = dayString(r.from);
  toIn.value = dayString(r.to - 864e5);
  for (const d of dims()) {
    const sel = app.dimSels[d.key];
    const values = (app.boot && app.boot.dims[d.key]) || [];
    const cur = params.get(d.key) || '';
    const opts = values.includes(cur) || !cur ? values : [...values, cur];
    sel.replaceChildren(h('option', { value: '' }, 'All'), ...opts.map((v) => h('option', { value: v }, v)));
    sel.value = cur;
  }
  // A page with its own time windows (the initiative's) ignores the period and filters: hide them.
  const scopeless = !!RENDERERS[page].scopeless;
  filterBar.classList.toggle('scopeless', scopeless);
  printHead.textContent = `${PAGES.find((p) => p.id === page).title} — ${scopeless ? RENDERERS[page].describe(params, app.boot) : describe(params)}`;
  document.title = `${PAGES.find((p) => p.id === page).title} · Lead-to-Cash`;
}

function showFreshness() {
  const f = app.boot && app.boot.freshness;
  if (!f) return;
  if (!f.lastSuccessAt) {
    freshness.className = 'freshness stale';
    freshness.textContent = 'No data loaded yet';
    return;
  }
  const age = Date.now() - Date.parse(f.lastSuccessAt);
  freshness.className = 'freshness' + (age > 2 * 864e5 ? ' stale' : '');
  freshness.replaceChildren(h('span.dot'), `Data as of ${dateTime(f.lastSuccessAt)}`, h('span.ago', ` (${ago(f.lastSuccessAt)})`));
  freshness.title = `Last successful ETL run ${dateTime(f.lastSuccessAt)}; data version ${f.dataVersion}`;
}

// --- sign-in (only when the server has authentication configured) -------------------------------

function showWho(info) {
  if (!info || !info.signedIn) {
    who.hidden = true;
    return;
  }
  const scope = [...(info.businessUnits || []), ...(info.regions || [])];
  who.replaceChildren(
    h('span', `${info.name} (${info.role}${scope.length ? ': ' + scope.join(', ') : ''})`),
    h('button.ghost', { type: 'button', onclick: async () => { await signOut(); showWho(null); showSignIn('Signed out.'); } }, 'Sign out'));
  who.hidden = false;
}

// showSignIn replaces the page with a token form; after a successful sign-in the app reloads its
// data with the session cookie (the token itself is not kept by the page).
function showSignIn(message) {
  if (document.body.dataset.state === 'signin' && !message) return;
  app.gen++;
  app.boot = null;
  app.shown = null;
  disposeAll();
  const input = h('input#signin-token', { type: 'password', autocomplete: 'off', spellcheck: false, required: true, placeholder: 'ltc_…', 'aria-label': 'API token' });
  const status = h('p.signin-status', { role: 'alert' }, message || '');
  const button = h('button', { type: 'submit' }, 'Sign in');
  const form = h('form.signin', {
    'aria-label': 'Sign in',
    onsubmit: async (e) => {
      e.preventDefault();
      button.disabled = true;
      status.textContent = '';
      try {
        const info = await signIn(input.value.trim());
        input.value = '';
        showWho(info);
        document.body.dataset.state = 'loading';
        render();
      } catch (err) {
        status.textContent = err.message;
        button.disabled = false;
        input.select();
      }
    },
  }, h('h2', 'Sign in'),
  h('p', 'This server needs an API token. Ask your ltc administrator for one.'),
  h('label', h('span', 'API token'), input), button, status);
  freshness.className = 'freshness stale';
  freshness.textContent = 'Signed out';
  main.replaceChildren(form);
  document.body.dataset.state = 'signin';
  setReady(true);
  input.focus();
}

onUnauthenticated(() => showSignIn());

// --- boot: data version, freshness and filter values --------------------------------------------

async function loadBoot() {
  const q = `query Boot {
  health { dataVersion }
  dataFreshness { lastSuccessAt updatedAt dataVersion }
  ${CATALOG_QUERY}
  initiatives { id name start baselineFrom baselineTo }
}`;
  const res = await gql(q, {});
  setCatalog(res.get('catalog'));
  // The filters and their values are the catalog's (built-in and custom dimensions).
  setDims(res.get('catalog').dimensions);
  buildFilters();
  const dimValues = Object.fromEntries(dims().map((d) => [d.key, d.values]));
  let initiatives = [];
  try {
    initiatives = res.get('initiatives');
  } catch {
    // An older server without initiatives: the Initiative page says there are none.
  }
  app.boot = { dataVersion: res.get('health').dataVersion, freshness: res.get('dataFreshness'), dims: dimValues, initiatives };
  showFreshness();
}

// --- rendering ----------------------------------------------------------------------------------

function setReady(v) {
  document.body.dataset.ready = v ? 'true' : 'false';
  if (v) document.body.dataset.rendered = String(++app.rendered);
}

// routeKey identifies what a page shows, leaving out the params that only open an overlay.
function routeKey(page, params) {
  const p = new URLSearchParams(params);
  for (const k of RENDERERS[page].overlay || []) p.delete(k);
  p.sort();
  return `${page}?${p}`;
}

async function render() {
  const { page, params } = readRoute();
  const key = routeKey(page, params);
  if (app.shown === key && RENDERERS[page].openOverlay && app.ctx) {
    // Same view, only an overlay param changed (e.g. a case drill-down): no reload.
    app.ctx.params = params;
    setReady(false);
    await RENDERERS[page].openOverlay(app.ctx);
    setReady(true);
    return;
  }
  const gen = ++app.gen;
  app.shown = null;
  const stray = document.getElementById('case-panel');
  if (stray) stray.remove();
  setReady(false);
  document.body.dataset.page = page;
  try {
    if (!app.boot) await loadBoot();
  } catch (e) {
    if (e.code === 'UNAUTHENTICATED') return; // the sign-in form is up
    if (gen !== app.gen) return;
    freshness.className = 'freshness stale';
    freshness.textContent = 'Data service unreachable';
    syncControls(page, params);
    disposeAll();
    main.replaceChildren(h('div.state.error.page-error', { role: 'alert' },
      h('strong', 'The dashboards cannot reach the data service'), h('p', e.message),
      h('button', { type: 'button', onclick: () => render() }, 'Retry')));
    document.body.dataset.state = 'error';
    setReady(true);
    return;
  }
  if (gen !== app.gen) return;
  // A page may choose its own default period (Diagnosis: the active initiative's baseline); it is
  // written into the URL, so the period control shows it and the link stays shareable.
  if (!params.get('period') && RENDERERS[page].defaultPeriod) {
    for (const [k, v] of Object.entries(RENDERERS[page].defaultPeriod(app.boot, Date.now()))) params.set(k, v);
    history.replaceState(null, '', href(page, params));
  }
  syncControls(page, params);
  disposeAll();
  csvRegistry.clear();
  main.replaceChildren();
  const ctx = {
    main,
    page,
    params,
    range: range(params),
    dims: app.boot.dims,
    initiatives: app.boot.initiatives,
    alive: () => gen === app.gen,
    setParams,
    add(card) {
      main.append(card.el);
      return card;
    },
    async query(q, vars) {
      return gql(q, vars);
    },
  };
  app.ctx = ctx;
  document.body.dataset.state = 'loading';
  try {
    await RENDERERS[page].render(ctx);
  } catch (e) {
    console.error(e); // eslint-disable-line no-console
  }
  if (gen !== app.gen) return;
  await settled();
  if (gen !== app.gen) return;
  document.body.dataset.state = main.querySelector('[data-state="error"]') ? 'error' : 'ready';
  app.shown = key;
  setReady(true);
}

// --- refresh when new data lands ----------------------------------------------------------------

async function poll() {
  if (!app.boot) return;
  try {
    const res = await gql('query Version { health { dataVersion } }');
    const v = res.get('health').dataVersion;
    if (v !== app.boot.dataVersion) {
      app.boot = null;
      app.shown = null;
      banner.hidden = false;
      banner.textContent = 'New data arrived — the dashboard was refreshed.';
      setTimeout(() => { banner.hidden = true; }, 8000);
      await render();
    } else {
      showFreshness();
    }
  } catch {
    // A failed poll is retried at the next tick; the current view stays.
  }
}

setInterval(() => {
  if (document.visibilityState === 'visible') poll();
}, POLL_MS);
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible') poll();
});

window.addEventListener('hashchange', render);
window.addEventListener('beforeprint', resizeAll);
window.addEventListener('afterprint', resizeAll);
if (!location.hash) history.replaceState(null, '', href('overview', new URLSearchParams()));
render();
session().then(showWho);
