package server

import "github.com/prometheus/client_golang/prometheus"

// GraphQLMetrics are the /graphql request metrics: duration by operation kind and response-cache
// hits. Pass Observe as graph.HandlerOptions.Observe.
type GraphQLMetrics struct {
	duration *prometheus.HistogramVec
	hits     prometheus.Counter
}

// graphQLKinds are the operation kinds GraphQL defines: the label's only values.
var graphQLKinds = []string{"query", "mutation", "subscription"}

// NewGraphQLMetrics creates the GraphQL metrics and registers them with reg.
func NewGraphQLMetrics(reg prometheus.Registerer) *GraphQLMetrics {
	m := &GraphQLMetrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ltc_graphql_request_duration_seconds",
			Help:    "Wall time of executed /graphql operations in seconds, by operation kind (query, mutation, subscription), answers from the response cache included.",
			Buckets: []float64{0.0005, 0.001, 0.005, 0.025, 0.1, 0.25, 1, 2.5, 10, 30},
		}, []string{"operation"}),
		hits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ltc_graphql_response_cache_hits_total",
			Help: "/graphql queries answered from the response cache (same query, caller scope and data version); compare with ltc_graphql_request_duration_seconds_count{operation=\"query\"}.",
		}),
	}
	for _, k := range graphQLKinds {
		m.duration.WithLabelValues(k) // export every kind from the start (0 until used)
	}
	reg.MustRegister(m.duration, m.hits)
	return m
}

// Observe records one operation.
func (m *GraphQLMetrics) Observe(kind string, seconds float64, cacheHit bool) {
	known := false
	for _, k := range graphQLKinds {
		known = known || k == kind
	}
	if !known {
		return
	}
	m.duration.WithLabelValues(kind).Observe(seconds)
	if cacheHit {
		m.hits.Inc()
	}
}
