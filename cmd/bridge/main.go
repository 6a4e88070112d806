// Command bridge runs the CTI bridge: one JTAPI-style provider session to a
// CUCM cluster's CTIManagers, every event published as a CloudEvent into
// NATS JetStream. `bridge demo` runs everything embedded.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// usageError marks errors that should exit with status 2.
type usageError struct{ error }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRoot()
	root.SetArgs(os.Args[1:])
	err := root.ExecuteContext(ctx)
	if err == nil {
		return
	}
	fmt.Fprintln(os.Stderr, "bridge:", err)
	var ue usageError
	if errors.As(err, &ue) {
		os.Exit(2)
	}
	os.Exit(1)
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
