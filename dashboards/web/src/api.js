// The GraphQL client: one POST per operation to the same-origin endpoint, counted so the tests can
// check how many requests a page load makes (window.__ltc.requests).

const endpoint = document.body.dataset.graphql || '/graphql';
let requests = 0;
let onUnauth = null;

// onUnauthenticated sets what happens when the API answers 401 (the sign-in form).
export function onUnauthenticated(fn) {
  onUnauth = fn;
}

export function requestCount() {
  return requests;
}

// KPI is the selection of a KpiValue used everywhere.
export const KPI = 'value previous change relChange n previousN low high lowSample';

// Result holds a response that may be partial: get(alias) returns a field's data or throws the
// error GraphQL reported for it, so one failing KPI only breaks its own card.
export class Result {
  constructor(data, errors) {
    this.data = data || {};
    this.errors = errors || [];
  }

  get(alias) {
    const err = this.errors.find((e) => !e.path || e.path[0] === alias);
    if (err) throw apiError(err);
    const v = this.data[alias];
    if (v == null) throw new Error(`no data for ${alias}`);
    return v;
  }
}

function apiError(e) {
  const code = e.extensions && e.extensions.code;
  const err = new Error(e.message + (code ? ` (${code})` : ''));
  err.code = code;
  return err;
}

// gql runs an operation and returns a Result; it throws on transport errors and when the server
// answered no data at all.
export async function gql(query, variables = {}, { signal } = {}) {
  requests++;
  let res;
  try {
    res = await fetch(endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ query, variables }),
      credentials: 'same-origin',
      signal,
    });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new Error('The server did not answer (' + e.message + ')');
  }
  if (res.status === 401) {
    // Authentication is on and there is no (live) session: the app asks for a token.
    if (onUnauth) onUnauth();
    const err = new Error('Sign-in required');
    err.code = 'UNAUTHENTICATED';
    throw err;
  }
  let body;
  try {
    body = await res.json();
  } catch {
    throw new Error(`The server answered HTTP ${res.status} without a GraphQL response`);
  }
  if (!body.data && body.errors && body.errors.length) throw apiError(body.errors[0]);
  if (!body.data) throw new Error(`The server answered HTTP ${res.status} without data`);
  return new Result(body.data, body.errors);
}

// --- sign-in: the server keeps the session; the browser holds only an HttpOnly cookie ----------

async function errorMessage(res) {
  try {
    const body = await res.json();
    return body.errors[0].message;
  } catch {
    return `HTTP ${res.status}`;
  }
}

// signIn exchanges an API token for a session cookie and returns who signed in.
export async function signIn(token) {
  const res = await fetch('/auth/login', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify({ token }),
    credentials: 'same-origin',
  });
  if (!res.ok) {
    const err = new Error(res.status === 401 ? 'That token was not accepted.' : await errorMessage(res));
    err.status = res.status;
    throw err;
  }
  return res.json();
}

// signOut ends the session on the server and clears the cookie.
export async function signOut() {
  await fetch('/auth/logout', { method: 'POST', credentials: 'same-origin' });
}

// session returns {auth, signedIn, name, role, businessUnits, regions}, or null when unknown.
export async function session() {
  try {
    const res = await fetch('/auth/session', { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    return res.ok ? await res.json() : null;
  } catch {
    return null;
  }
}
