// Command consumer is a runnable example of a service that uses the event
// log: it reads the bridge's events from JetStream with an ordered
// consumer, folds them with pkg/callstate, and prints the live state (the
// provider, the calls in progress, the devices out of service) every few
// seconds.
//
//	go run ./examples/consumer --server nats://127.0.0.1:4222 --cluster lab
//
// By default it folds the whole log first, then follows new events. With
// --from-snapshot it starts from the latest snapshot of the folded state
// (written by the bridge's snapshotter) and folds only what came after.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/ctibridge/ctibridge/pkg/callstate"
	ctijs "github.com/ctibridge/ctibridge/pkg/jetstream"
	"github.com/ctibridge/ctibridge/pkg/replaystore"
	"github.com/ctibridge/ctibridge/pkg/schema"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "consumer:", err)
		os.Exit(1)
	}
}

type options struct {
	server, cluster, stream string
	every                   time.Duration
	fromSnapshot            bool
	// stopAfter ends the run once this many events were folded (0: run
	// until interrupted). It makes the example testable.
	stopAfter uint64
}

func run(ctx context.Context, args []string, out io.Writer) error {
	def := os.Getenv("NATS_URL")
	if def == "" {
		def = nats.DefaultURL
	}
	var o options
	fs := flag.NewFlagSet("consumer", flag.ContinueOnError)
	fs.StringVar(&o.server, "server", def, "NATS server URL (default $NATS_URL, else nats://127.0.0.1:4222)")
	fs.StringVar(&o.cluster, "cluster", "", "CUCM cluster to follow (default: every cluster; the fold assumes one)")
	fs.StringVar(&o.stream, "stream", ctijs.DefaultStream, "event stream")
	fs.DurationVar(&o.every, "every", 2*time.Second, "how often to print the state")
	fs.BoolVar(&o.fromSnapshot, "from-snapshot", false, "start from the latest snapshot (needs --cluster)")
	fs.Uint64Var(&o.stopAfter, "stop-after", 0, "exit after folding this many events (0: run until interrupted)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	nc, err := nats.Connect(o.server, nats.Name("ctibridge-example-consumer"))
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	stream, err := js.Stream(ctx, o.stream)
	if err != nil {
		return fmt.Errorf("stream %s: %w", o.stream, err)
	}

	// The state is folded on the consumer's goroutine and printed on this
	// one: a State is not safe for concurrent use, so a mutex guards it.
	var mu sync.Mutex
	state := callstate.New()
	var folded uint64
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy}
	cfg.FilterSubjects = []string{schema.ClusterFilter(o.cluster)}

	if o.fromSnapshot {
		if o.cluster == "" {
			return errors.New("--from-snapshot needs --cluster")
		}
		st, err := replaystore.NewFromConn(ctx, nc, replaystore.Config{Stream: o.stream})
		if err != nil {
			return err
		}
		snap, err := st.NearestSnapshot(ctx, o.cluster, replaystore.Point{})
		switch {
		case err == nil:
			if state, err = st.LoadSnapshot(ctx, snap); err != nil {
				return err
			}
			cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
			cfg.OptStartSeq = snap.Seq + 1
			fmt.Fprintf(out, "starting from the snapshot at stream sequence %d\n", snap.Seq)
		case errors.Is(err, replaystore.ErrNoSnapshot):
			fmt.Fprintln(out, "no snapshot yet: folding the log from the start")
		default:
			return err
		}
	}

	cons, err := stream.OrderedConsumer(ctx, cfg)
	if err != nil {
		return err
	}
	done := make(chan struct{})
	var once sync.Once
	cc, err := cons.Consume(func(m jetstream.Msg) {
		_, ev, err := schema.Decode(m.Headers(), m.Data())
		if err != nil {
			return // not an event of the bridge
		}
		mu.Lock()
		state.Apply(ev)
		folded++
		n := folded
		mu.Unlock()
		if o.stopAfter > 0 && n >= o.stopAfter {
			once.Do(func() { close(done) })
		}
	})
	if err != nil {
		return err
	}
	defer cc.Stop()

	show := func() {
		mu.Lock()
		defer mu.Unlock()
		p := state.Provider()
		sum := state.Summary()
		fmt.Fprintf(out, "%s  provider %-14s on %-10s  calls %3d (unobserved %d)  connections %3d  terminals out of service %d/%d  events %d\n",
			time.Now().Format("15:04:05"), orDash(p.State), orDash(p.CTIManager), sum.Calls, sum.UnobservedCalls,
			sum.Connections, sum.TerminalsOOS, sum.Terminals, folded)
	}
	tick := time.NewTicker(o.every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			show()
			return nil
		case <-done:
			show()
			return nil
		case <-tick.C:
			show()
		}
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
