// Command ltc is the Lead-to-Cash analytics warehouse: scheduled ETL into embedded DuckDB, a
// GraphQL KPI API, executive dashboards and Prometheus metrics, in one binary.
//
// Usage:
//
//	ltc serve   [--config ltc.yaml]      run the API, dashboards, metrics and the ETL schedule
//	ltc etl run [--config ltc.yaml] [job] run ETL jobs once, with a progress line per file
//	ltc demo    [--dir data/demo]        generate demo data if absent, load it, serve it
//	ltc migrate [--config ltc.yaml]      apply pending schema migrations
//	ltc check   [--config ltc.yaml]      validate the config and process model
//	ltc snapshot --out DIR                write a read-only copy for API replicas
//	ltc backup  --out FILE                write a consistent copy of the warehouse
//	ltc restore --from FILE               replace the warehouse with a backup (server stopped)
//	ltc export  --parquet DIR             write the canonical tables as partitioned Parquet
//	ltc token new --role ROLE            create an API token (printed once) and its config entry
//	ltc version
//
// cmd/ltc is the only wiring point: every component is built here and passed in.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// command is one subcommand.
type command struct {
	name, usage, summary string
	run                  func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "ltc serve [flags]", "serve the API, dashboards and metrics, and run the ETL schedule", runServe},
		{"etl", "ltc etl run [flags] [job...]", "run ETL jobs once (all jobs when none is named)", runETL},
		{"demo", "ltc demo [flags]", "generate demo data (if absent), load it through the ETL and serve it", runDemo},
		{"migrate", "ltc migrate [flags]", "apply pending schema migrations to the warehouse", runMigrate},
		{"check", "ltc check [flags]", "validate the config and process model; exit non-zero listing every error", runCheck},
		{"snapshot", "ltc snapshot --out DIR [flags]", "write a consistent read-only copy of the warehouse and publish it as DIR/current", runSnapshot},
		{"backup", "ltc backup --out FILE [flags]", "write a consistent copy of the warehouse to FILE (while serving: the server's latest snapshot)", runBackup},
		{"restore", "ltc restore --from FILE [flags]", "replace the warehouse with a backup (the server must be stopped; the old file is kept aside)", runRestore},
		{"export", "ltc export --parquet DIR [flags]", "export the canonical tables as Hive-partitioned Parquet (by month)", runExport},
		{"token", "ltc token new [--role viewer|analyst|admin] [--business-unit BU]... [--region R]... [--name NAME]", "create an API token: print it once, with the config entry that holds its hash", runToken},
		{"version", "ltc version", "print the version", func(_ context.Context, _ []string, stdout, _ io.Writer) error {
			fmt.Fprintln(stdout, "ltc", version)
			return nil
		}},
	}
}

func main() {
	// The first SIGINT or SIGTERM cancels ctx: serve shuts down in order, a running ETL job's
	// statement is interrupted and its transaction rolls back (etl run: within about a second).
	// Then the handler is removed, so a second signal ends the process at once; DuckDB's WAL
	// keeps the warehouse at its last commit either way.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	context.AfterFunc(ctx, stop)
	privateFiles()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches to a subcommand and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:], stdout, stderr)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			return 2
		}
		fmt.Fprintln(stderr, "ltc "+c.name+":", err)
		return 1
	}
	fmt.Fprintf(stderr, "ltc: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

// errUsage reports a command-line mistake already explained to the user.
var errUsage = errors.New("usage")

func usage(w io.Writer) {
	fmt.Fprintln(w, "ltc — the Lead-to-Cash analytics warehouse\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'ltc <command> --help' for a command's flags.")
}

// flags is the flag set of one command, with --help text built from its usage line.
func flags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	for _, c := range commands() {
		if c.name == name {
			fs.Usage = func() {
				fmt.Fprintf(stderr, "Usage: %s\n\n%s.\n\nFlags:\n", c.usage, c.summary)
				fs.PrintDefaults()
			}
		}
	}
	return fs
}

// newLogger returns a text logger on stderr at the given level (debug, info, warn, error).
func newLogger(stderr io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: %w", level, err)
	}
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: l})), nil
}
