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

const defaultQuery = `# ltc GraphQL API. Press Ctrl-Enter to run.
query Overview {
  health { status version dataVersion database }
  dataFreshness { dataVersion updatedAt lastSuccessAt jobs { job lastSuccessAt } }
  etlRuns(first: 5) {
    totalCount
    edges { node { runId job status startedAt rowsLoaded rowsQuarantined } }
    pageInfo { hasNextPage endCursor }
  }
}
`;

createRoot(document.getElementById('graphiql')).render(
  <GraphiQL fetcher={fetcher} defaultQuery={defaultQuery} />,
);
