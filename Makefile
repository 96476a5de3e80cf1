# ltc — make run (demo on 127.0.0.1:8080) and make test (all tests) are the two commands a newcomer needs.
GO      ?= go
BIN     := bin/ltc
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
DEMO    ?= data/demo
SIZE    ?= small

GRAPHIQL := dashboards/graphiql
WEB      := dashboards/web

.PHONY: run build ui test test-short generate bench bench-go lint clean fuzz fuzz-short soak backtest

## run: build everything and start the demo (synthetic data through the real ETL, served on 127.0.0.1:8080)
run: build
	./$(BIN) demo --dir $(DEMO) --size $(SIZE)

## build: bundle the web assets from npm and build bin/ltc
build: ui
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/ltc

## ui: bundle GraphiQL and the dashboards from npm into the folders go:embed reads
ui: $(GRAPHIQL)/dist/graphiql.js $(WEB)/dist/app.js

$(GRAPHIQL)/node_modules/.package-lock.json: $(GRAPHIQL)/package.json $(GRAPHIQL)/package-lock.json
	cd $(GRAPHIQL) && npm ci --no-audit --no-fund

$(GRAPHIQL)/dist/graphiql.js: $(GRAPHIQL)/node_modules/.package-lock.json $(wildcard $(GRAPHIQL)/src/*)
	cd $(GRAPHIQL) && npm run build

$(WEB)/node_modules/.package-lock.json: $(WEB)/package.json $(WEB)/package-lock.json
	cd $(WEB) && npm ci --no-audit --no-fund

$(WEB)/dist/app.js: $(WEB)/node_modules/.package-lock.json $(wildcard $(WEB)/src/*.js $(WEB)/src/*.css $(WEB)/src/*/*.js)
	cd $(WEB) && npm run build

## test: every test (system-tool tests skip outside CI when the tool is missing, and fail in CI),
## a 15 s soak (in ./cmd/ltc) and a short run of every fuzz target
test: ui
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 30m ./...

# FUZZ lists the fuzz targets as package:Target; seed corpora live in each package's testdata/fuzz.
FUZZ := ./etl:FuzzCSVRecords ./etl:FuzzJSONRecords ./etl:FuzzValueMappingAndTimestamps \
	./schema:FuzzParseModel ./graph:FuzzScopeInput
# FUZZTIME is a duration or an exec count (Nx). With a duration, Go 1.26's fuzz coordinator can fail a
# target with a bare "context deadline exceeded" as the time runs out, writing no input
# (golang/go#75804, a race fixed in Go 1.27): that is not a finding. A count never races.
FUZZTIME ?= 60s
# FUZZMINIMIZE bounds the minimization of each new input (every exec of the ETL targets loads a
# warehouse, ~60 ms; Go's default is 60 s of minimizing).
FUZZMINIMIZE ?= 50x

## fuzz: run every fuzz target for FUZZTIME each (default 60s); a failing input lands in testdata/fuzz
fuzz:
	@set -e; for t in $(FUZZ); do echo "== $$t ($(FUZZTIME))"; \
	  $(GO) test -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) $${t%%:*}; done

## fuzz-short: every fuzz target for a fixed number of execs, about 10 s each (CI runs it after make
## test, which replays the seed corpora): a count, not a duration, so golang/go#75804 cannot fail it.
## FuzzParseModel parses YAML only (~25k execs/s); the others load a warehouse or query one (~10–100/s).
fuzz-short:
	@$(MAKE) --no-print-directory fuzz FUZZ="$(filter-out ./schema:FuzzParseModel,$(FUZZ))" FUZZTIME=300x
	@$(MAKE) --no-print-directory fuzz FUZZ=./schema:FuzzParseModel FUZZTIME=200000x

## soak: 50 clients and 4 adversarial viewers for 2 minutes against ltc serve while the ETL runs every 10 s (latency, RSS under the budget, row counts)
soak:
	$(GO) test -count=1 -timeout 15m -run '^TestSoak$$' -v ./cmd/ltc -soak.clients=50 -soak.duration=2m -soak.adversarial=4

## backtest: replay the demo's KPI history (drops of 10/25/50/75% of lead conversion in a unit and of gate
## compliance in every unit, medium and small demo; 12 months without a change, every KPI the drop rule
## reads) through the exporter and the shipped alert rules; writes the table to backtest.md.
## With CONFIG=path/to/ltc.yaml: replay one's own data's last 12 months and list every firing instead.
backtest:
ifdef CONFIG
	$(GO) test -count=1 -timeout 90m -run '^TestBacktestOwnData$$' -v ./internal/backtest -backtest.config $(abspath $(CONFIG))
else
	$(GO) test -count=1 -timeout 90m -run '^TestBacktestTable$$' -v ./internal/backtest -backtest.full -backtest.out $(CURDIR)/backtest.md
endif

## generate: regenerate gqlgen code from graph/*.graphqls
generate:
	$(GO) tool gqlgen generate

BENCH_SIZES ?= S,M,L

## bench: the benchmark suite: one markdown table for S/M/L synthetic data (cached in $$LTC_BENCH_DIR or the user cache)
bench: build
	$(GO) run ./bench -sizes $(BENCH_SIZES) -ltc $(BIN)

## bench-go: the per-package Go benchmarks (KPI families, ETL, API, scrape)
bench-go:
	$(GO) test -run '^$$' -bench . -benchmem -timeout 60m ./...

## lint: formatting and vet
lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...

clean:
	rm -rf bin $(DEMO)
