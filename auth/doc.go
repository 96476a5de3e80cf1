// Package auth is ltc's access model: API tokens (stored as SHA-256 hashes), the roles they grant
// (viewer, analyst, admin), the row scope they carry (business units and regions, enforced by the
// KPI engine), and the in-memory sessions the dashboard signs in to. It holds no HTTP code: the
// server applies it (server/security.go) and the GraphQL handler checks field roles (graph/auth.go).
package auth
