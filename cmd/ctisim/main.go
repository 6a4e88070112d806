// Command ctisim runs a simulated CUCM cluster's CTIManagers on loopback:
// the default cluster (or one from a YAML file), generated call traffic,
// fault injection over an HTTP control API, and a ground-truth log. See
// docs/simulator.md.
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
)

// errUsage marks command-line mistakes (exit code 2).
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	// The simulator package's errors already say "ctisim: ".
	msg := err.Error()
	if !strings.HasPrefix(msg, "ctisim: ") {
		msg = "ctisim: " + msg
	}
	fmt.Fprintln(stderr, msg)
	if errors.Is(err, errUsage) {
		return 2
	}
	return 1
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	o := defaultServeOptions()
	root := &cobra.Command{
		Use:   "ctisim",
		Short: "Simulated CUCM CTIManager cluster speaking the open CTI link protocol",
		Long: `ctisim runs several simulated CTIManager nodes of one CUCM cluster on loopback,
each with a plain TCP port and (with --tls-dir) a TLS 1.3 mutual-auth port. Devices,
calls and CallManager nodes are shared by the whole cluster; call traffic is generated
at --rate calls per second, deterministically for a --seed.

Without a subcommand it starts the built-in "lab" cluster (or --config FILE), prints
its ports and the control API address, and runs until interrupted (Ctrl-C).

Faults are injected at run time through the HTTP control API (--control), e.g.
  curl -X POST 'http://127.0.0.1:2700/faults/kill?node=ctim-a'
  curl -X POST 'http://127.0.0.1:2700/faults/restore?node=ctim-a'
  curl 'http://127.0.0.1:2700/nodes'
Every frame sent to every session can be logged as JSON lines with --ground-truth FILE.

See docs/simulator.md for the cluster YAML, the control API and the ground truth.`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return serve(cmd.Context(), o, stdout, stderr)
		},
	}
	o.bind(root)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return fmt.Errorf("%w: %v", errUsage, err) })
	root.AddCommand(newPKICmd(stdout))
	return root
}
