// Command replay reads the CTI bridge's event log back: the failover
// timeline, the state at any point in time, the list of calls, one call's
// history, one device's history, a live tail, JSON Lines and CSV exports,
// a paced republish and an HTML incident report. See docs/replay.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// A closed pipe (replay … | head) must not kill the process before it
	// removes its offline store copy: writes then fail with EPIPE instead,
	// and run ends quietly.
	signal.Ignore(syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, isTerminal(os.Stderr))
	stop()
	os.Exit(code)
}
