// Package storetest provides test support for code that reads the event
// log: an in-process nats-server with JetStream, the bridge's event stream,
// and a deterministic synthetic event log (calls, heartbeats, CTIManager
// failovers in the order of PRODUCT.md §3.3 rule 3) to fill it with.
//
// # Usage
//
//	srv, nc := storetest.StartServer(t, t.TempDir())
//	js := storetest.CreateEventStream(t, nc, "CTI")
//	evs := storetest.SyntheticLog(storetest.LogConfig{Events: 5000, Failovers: []int{2500}})
//	storetest.Publish(t, js, "lab", evs)
//
// It is meant for tests and benchmarks only.
package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/jetstream"
	"github.com/ctibridge/ctibridge/pkg/schema"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
)

// StartServer runs an in-process nats-server with JetStream storing in dir
// (listening on a random 127.0.0.1 port) and connects to it. Both are shut
// down when the test ends.
func StartServer(tb testing.TB, dir string) (*server.Server, *nats.Conn) {
	tb.Helper()
	return StartServerWith(tb, dir, nil)
}

// StartServerWith is StartServer with a hook to change the server's
// options (for example a small MaxPayload).
func StartServerWith(tb testing.TB, dir string, tweak func(*server.Options)) (*server.Server, *nats.Conn) {
	tb.Helper()
	opts := &server.Options{
		ServerName: "storetest",
		Host:       "127.0.0.1",
		Port:       -1,
		JetStream:  true,
		StoreDir:   dir,
		NoSigs:     true,
		NoLog:      true,
	}
	if tweak != nil {
		tweak(opts)
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		tb.Fatalf("storetest: server: %v", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(20 * time.Second) {
		tb.Fatal("storetest: server not ready")
	}
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		srv.Shutdown()
		tb.Fatalf("storetest: connect: %v", err)
	}
	tb.Cleanup(func() {
		nc.Close()
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	return srv, nc
}

// CreateEventStream creates the event stream as the bridge does
// (jetstream.Provision: subjects "cti.>", the current subject layout),
// with a one-minute dedupe window, and returns a JetStream context.
func CreateEventStream(tb testing.TB, nc *nats.Conn, name string) natsjs.JetStream {
	tb.Helper()
	js, err := natsjs.New(nc)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := jetstream.Provision(ctx, js, jetstream.ProvisionConfig{Stream: name, Duplicates: time.Minute}); err != nil {
		tb.Fatalf("storetest: create stream %s: %v", name, err)
	}
	return js
}

// Publish encodes events (binary mode) for cluster and stores them, in
// order, waiting for every acknowledgement.
func Publish(tb testing.TB, js natsjs.JetStream, cluster string, evs []schema.Event) {
	tb.Helper()
	if err := PublishErr(js, cluster, schema.ModeBinary, evs); err != nil {
		tb.Fatal(err)
	}
}

// PublishErr is Publish returning its error, with a choice of mode.
func PublishErr(js natsjs.JetStream, cluster string, mode schema.Mode, evs []schema.Event) error {
	p, err := NewPublisher(js, cluster, mode)
	if err != nil {
		return err
	}
	for i := range evs {
		if err := p.Add(&evs[i]); err != nil {
			return err
		}
	}
	return p.Flush()
}

// Publisher stores events one by one (asynchronously, a bounded number in
// flight), for logs too long to hold in memory.
type Publisher struct {
	js      natsjs.JetStream
	enc     *schema.Encoder
	futures []natsjs.PubAckFuture
	n       int
}

// NewPublisher returns a Publisher of cluster's events.
func NewPublisher(js natsjs.JetStream, cluster string, mode schema.Mode) (*Publisher, error) {
	enc, err := schema.NewEncoder(schema.EncoderConfig{Cluster: cluster, Mode: mode})
	if err != nil {
		return nil, err
	}
	return &Publisher{js: js, enc: enc}, nil
}

// Add publishes one event.
func (p *Publisher) Add(ev *schema.Event) error {
	m, err := p.enc.Encode(ev, ev.Time)
	if err != nil {
		return fmt.Errorf("storetest: encode event %d (%s): %w", p.n, ev.Name, err)
	}
	p.n++
	f, err := p.js.PublishMsgAsync(&nats.Msg{Subject: m.Subject, Header: nats.Header(m.Header), Data: m.Data})
	if err != nil {
		return fmt.Errorf("storetest: publish event %d: %w", p.n, err)
	}
	p.futures = append(p.futures, f)
	if len(p.futures) >= 2000 {
		return p.Flush()
	}
	return nil
}

// Flush waits for every acknowledgement.
func (p *Publisher) Flush() error {
	err := wait(p.futures)
	p.futures = p.futures[:0]
	return err
}

func wait(fs []natsjs.PubAckFuture) error {
	for _, f := range fs {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return fmt.Errorf("storetest: publish: %w", err)
		case <-time.After(30 * time.Second):
			return fmt.Errorf("storetest: no acknowledgement within 30s")
		}
	}
	return nil
}
