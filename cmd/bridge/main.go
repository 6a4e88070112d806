// Command bridge runs the CTI bridge: one JTAPI-style provider session to a
// CUCM cluster's CTIManagers, every event published as a CloudEvent into
// NATS JetStream. `bridge demo` runs everything embedded.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/ctibridge/ctibridge/internal/bridge"
)

// usageError marks errors that should exit with status 2.
type usageError struct{ error }

func main() {
	ctx, stop := signalContext(context.Background())
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// stopSignals are the signals that stop the bridge in order, with the
// names BridgeStopping gives them.
var stopSignals = map[os.Signal]string{os.Interrupt: "SIGINT", syscall.SIGTERM: "SIGTERM"}

// signalContext is signal.NotifyContext whose cause says which signal
// arrived (a bridge.StopCause, so BridgeStopping records it). Later
// signals are absorbed until stop is called.
func signalContext(parent context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 1)
	for sig := range stopSignals {
		signal.Notify(ch, sig)
	}
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-ch:
			cancel(bridge.StopCause{Reason: bridge.StopSignal, Detail: stopSignals[sig]})
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		cancel(nil)
	}
}

// run executes a command line and returns its exit code: 0 success, 1
// failure, 2 usage (unknown command or flag, wrong arguments, bad flag
// values), as docs/operations.md documents.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "bridge:", err)
	var ue usageError
	if errors.As(err, &ue) || strings.HasPrefix(err.Error(), "unknown command ") {
		return 2
	}
	return 1
}

// usageArgs makes cobra's argument checks usage errors (exit 2).
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return usageError{fmt.Errorf("%w (see %s --help)", err, cmd.CommandPath())}
		}
		return nil
	}
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "bridge",
		Short: "Event-sourced CTI bridge: Cisco CUCM CTIManagers → CloudEvents in NATS JetStream",
		Long: `bridge holds one CTI provider session to a CUCM cluster's CTIManagers, runs the JTAPI
connection and failover state machine, and publishes every provider, terminal, address and
call event as a CloudEvent into NATS JetStream subjects cti.<cluster>.>.

  bridge demo                      everything embedded: NATS, a simulated cluster, the bridge
  bridge run --config bridge.yaml  the daemon against real (or simulated) CTIManagers`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%w (see %s --help)", err, c.CommandPath())}
	})
	root.AddCommand(newRunCmd(), newDemoCmd(), newHealthcheckCmd(), newVersionCmd())
	return root
}
