package main

import (
	"log/slog"
	"net/http"

	"github.com/ltc-analytics/ltc/dashboards/web"
)

// newUI returns the executive dashboards served at "/": the web app embedded from dashboards/web,
// which queries the public GraphQL API at /graphql. A binary built without the bundle (plain
// `go build`) serves a page that says how to build it, and says so in the log.
func newUI(logger *slog.Logger) http.Handler {
	ui := web.New(web.Options{GraphQL: "/graphql"})
	if !ui.Built() {
		logger.Warn("dashboards not bundled in this binary; / explains how to build them (make build)")
	}
	return ui
}
