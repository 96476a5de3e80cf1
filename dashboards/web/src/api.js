// The GraphQL client: one POST per operation to the same-origin endpoint, counted so the tests can
// check how many requests a page load makes (window.__ltc.requests).

const endpoint = document.body.dataset.graphql || '/graphql';
let requests = 0;

export function requestCount() {
  return requests;
}

// KPI is the selection of a KpiValue used everywhere.
export const KPI = 'value previous change relChange n previousN';

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
