package jetstream

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"
)

func TestReadAll(t *testing.T) {
	e := startServer(t)
	js := newJS(t, dialTCP(t, e.ClientURL()))
	provision(t, js)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	calls := 0
	if err := ReadAll(ctx, js, DefaultStream, "", func(natsjs.Msg) error { calls++; return nil }); err != nil || calls != 0 {
		t.Fatalf("empty stream: %d calls, %v", calls, err)
	}

	for i := range 300 {
		if _, err := js.Publish(ctx, fmt.Sprintf("cti.lab.call.%d.CallActiveEv", i%3), []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	var all []uint64
	err := ReadAll(ctx, js, DefaultStream, "", func(m natsjs.Msg) error {
		md, _ := m.Metadata()
		all = append(all, md.Sequence.Stream)
		return nil
	})
	if err != nil || len(all) != 300 {
		t.Fatalf("read %d, %v", len(all), err)
	}
	for i, seq := range all {
		if seq != uint64(i+1) {
			t.Fatalf("position %d has stream sequence %d", i, seq)
		}
	}

	var got []string
	err = ReadAll(ctx, js, DefaultStream, "cti.lab.call.1.>", func(m natsjs.Msg) error {
		got = append(got, string(m.Data()))
		return nil
	})
	if err != nil || len(got) != 100 || got[0] != "1" || got[99] != "298" {
		t.Fatalf("filtered read: %d messages %v, %v", len(got), got[:min(3, len(got))], err)
	}

	if err := ReadAll(ctx, js, DefaultStream, "cti.other.>", func(natsjs.Msg) error { return errors.New("called") }); err != nil {
		t.Fatalf("filter matching nothing: %v", err)
	}

	stop := errors.New("stop")
	n := 0
	err = ReadAll(ctx, js, DefaultStream, "", func(natsjs.Msg) error {
		if n++; n == 10 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 10 {
		t.Fatalf("fn error: %v after %d", err, n)
	}

	if err := ReadAll(ctx, js, "NOPE", "", func(natsjs.Msg) error { return nil }); !errors.Is(err, natsjs.ErrStreamNotFound) {
		t.Fatalf("missing stream: %v", err)
	}
}

// unavailableJS answers the first few stream look-ups as a cluster
// without a meta leader does (503, 10008), then the real server's.
type unavailableJS struct {
	natsjs.JetStream
	refusals int
	other    error // returned instead of the 503, if set
}

func (u *unavailableJS) Stream(ctx context.Context, name string) (natsjs.Stream, error) {
	if u.refusals > 0 {
		u.refusals--
		if u.other != nil {
			return nil, u.other
		}
		return nil, &natsjs.APIError{Code: 503, ErrorCode: errCodeClusterNotAvailable, Description: "JetStream system temporarily unavailable"}
	}
	return u.JetStream.Stream(ctx, name)
}

// A read begun while JetStream is "temporarily unavailable" (a cluster
// electing its leaders after a quorum loss) waits it out and reads every
// message; any other error still ends it at once.
func TestReadAllWaitsOutJetStreamUnavailable(t *testing.T) {
	e := startServer(t)
	js := newJS(t, dialTCP(t, e.ClientURL()))
	provision(t, js)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range 5 {
		if _, err := js.Publish(ctx, fmt.Sprintf("cti.lab.call.%d.CallActiveEv", i), nil); err != nil {
			t.Fatal(err)
		}
	}
	u := &unavailableJS{JetStream: js, refusals: 3}
	n := 0
	if err := ReadAll(ctx, u, DefaultStream, "", func(natsjs.Msg) error { n++; return nil }); err != nil || n != 5 {
		t.Fatalf("read %d messages after three 503s, %v; want 5, nil", n, err)
	}
	if u.refusals != 0 {
		t.Fatalf("%d refusals left: the read did not go through them", u.refusals)
	}

	bad := &unavailableJS{JetStream: js, refusals: 1, other: natsjs.ErrStreamNotFound}
	if err := ReadAll(ctx, bad, DefaultStream, "", func(natsjs.Msg) error { return nil }); !errors.Is(err, natsjs.ErrStreamNotFound) {
		t.Fatalf("a missing stream: %v, want ErrStreamNotFound at once", err)
	}
}
