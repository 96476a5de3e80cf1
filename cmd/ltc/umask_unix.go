//go:build unix

package main

import "syscall"

// privateFiles makes every file the process creates from now on (the warehouse and its WAL,
// snapshots, backups, exports, DuckDB's spill files) readable by its owner only: they hold the
// business data that the API's roles and row scopes guard.
func privateFiles() { syscall.Umask(0o077) }
