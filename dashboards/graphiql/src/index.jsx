// GraphiQL for ltc, rendered against the same-origin /graphql endpoint. Everything it needs is
// bundled by esbuild into dist/graphiql.js and dist/graphiql.css: nothing loads from a CDN.
import { createRoot } from 'react-dom/client';
import { GraphiQL } from 'graphiql';
import 'graphiql/style.css';

const endpoint = document.body.dataset.endpoint || '/graphql';

// fetcher posts the operation as JSON and returns the decoded response.
async function fetcher(params) {
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify(params),
    credentials: 'same-origin',
  });
  return res.json();
}

const defaultQuery = `# ltc GraphQL API. Press Ctrl-Enter to run; Ctrl-Space completes, the Docs
# pane describes every field. Every KPI comes with the previous period of equal length, the n it is
# computed over, a 95% interval for rates (low, high), lowSample below 30, and whether the period is
# complete. Dates are YYYY-MM-DD or RFC 3339 (UTC). The catalog query lists every KPI's definition.
query Overview {
  # Lead conversion this quarter, by business unit, with a monthly series.
  leadConversion(scope: {from: "2026-07-01", to: "2026-10-01", groupBy: [BUSINESS_UNIT], grain: MONTH}) {
    complete
    total { value previous change n low high lowSample }
    groups { key { value } result { value n lowSample } }
    series { start complete result { value n } }
  }
  # Where the sales cycle goes: the bottleneck, named with its cycle.
  valueStream(scope: {from: "2026-07-01", to: "2026-10-01"}, cycle: SALES) {
    total { cycle bottleneck cases { value } stages { stage share { value } rework { value n } } }
  }
  # What each KPI means (unit, better direction, the timestamp its range applies to).
  catalog { kpis { name title unit direction rangeOn definition } }
}
`;

createRoot(document.getElementById('graphiql')).render(
  <GraphiQL fetcher={fetcher} defaultQuery={defaultQuery} />,
);
