package faultmatrix

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/ctibridge/ctibridge/internal/bridge"
	"github.com/ctibridge/ctibridge/internal/testwait"
	"github.com/ctibridge/ctibridge/pkg/jetstream"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// probe GETs an ops endpoint and returns the status code and body (0 if
// the endpoint does not answer).
func probe(addr, path string) (int, string) {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + addr + path)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Start in any order: `bridge run` started 10 s before its NATS server
// stays up, answers /healthz 200 and /readyz 503 naming NATS as the reason
// while its provider is in service, and once NATS is up it provisions the
// stream, delivers every event of those 10 s (the checker finds every
// frame's events, no PublishGap) and /readyz turns 200.
func TestBridgeStartsBeforeNATS(t *testing.T) {
	bin := BridgeBinary(t)
	r := StartTestRig(t, RigConfig{NATSLater: true})
	ops := freeAddr(t)
	path := filepath.Join(t.TempDir(), "bridge.yaml")
	if err := os.WriteFile(path, r.DaemonConfig(DaemonOptions{Instance: "early", HTTPListen: ops}), 0o600); err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	d := StartTestDaemon(t, bin, path)

	testwait.Eventually(t, 0, "/healthz 200 while NATS is down", func() bool {
		code, _ := probe(ops, "/healthz")
		return code == http.StatusOK
	})
	// The CTI side does not wait: the provider comes into service and the
	// only reason left is NATS.
	var ready bridge.Readiness
	testwait.Eventually(t, 0, "/readyz 503 with NATS as its only reason", func() bool {
		code, body := probe(ops, "/readyz")
		ready = bridge.Readiness{}
		_ = json.Unmarshal([]byte(body), &ready)
		return code == http.StatusServiceUnavailable && len(ready.Reasons) == 1 &&
			strings.HasPrefix(ready.Reasons[0], "NATS not reachable: ") && strings.Contains(ready.Reasons[0], "connection refused")
	})
	t.Logf("/readyz while NATS is down: %q", ready.Reasons)

	LetTrafficFlow(10*time.Second - time.Since(started))
	select {
	case <-d.Exited():
		t.Fatalf("the bridge exited while NATS was down:\n%s", d.Out)
	default:
	}
	if code, body := probe(ops, "/readyz"); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz %d before NATS started: %s", code, body)
	}

	// Logged at a sane rate: once when it began, not per attempt (the
	// reason's kind did not change).
	if n := strings.Count(d.Out.String(), "event log not ready"); n != 1 {
		t.Fatalf("%d 'event log not ready' log lines in 10 s, want 1:\n%s", n, d.Out)
	}
	natsUp := time.Now()
	if err := r.StartNATS(); err != nil {
		t.Fatal(err)
	}
	testwait.Eventually(t, 0, "/readyz 200 once NATS is up", func() bool {
		code, _ := probe(ops, "/readyz")
		return code == http.StatusOK
	})
	t.Logf("ready %v after NATS started", time.Since(natsUp).Round(time.Millisecond))
	LetTrafficFlow(2 * time.Second)
	if code := d.StopOrFail(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0; output:\n%s", code, d.Out)
	}
	// Frames of the 10 s without NATS, each of which must have its events
	// in the stream: the checker's rule (b), with no gap to hide in.
	before := 0
	for _, rec := range r.Sim.GroundTruth("") {
		if rec.Sent && rec.Time.Before(natsUp) && EventBearing(msgType(rec)) {
			before++
		}
	}
	rep, _ := CloseAndCheck(t, r)
	if rep.PublishGaps != 0 || rep.FramesInGap != 0 || rep.FramesInPublishGap != 0 {
		t.Fatalf("events of the time without NATS were dropped:\n%s", rep)
	}
	if before < 100 {
		t.Fatalf("only %d event-bearing frames were sent before NATS started", before)
	}
	t.Logf("%d event-bearing frames sent before NATS started, all in the stream", before)
}

// The stream deleted under a running bridge: the bridge holds publishing,
// recreates the stream and records what went with it (StreamRecreated,
// naming the deleted stream's last sequence); it never publishes into
// nothing: nothing is dropped, and the events after the deletion are all
// in the new stream, each once.
func TestStreamDeletedUnderBridge(t *testing.T) {
	r := StartTestRigAndBridge(t, RigConfig{}, nil)
	LetTrafficFlow(2 * time.Second)
	js, err := natsjs.New(r.Conn)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := js.DeleteStream(ctx, jetstream.DefaultStream); err != nil {
		t.Fatal(err)
	}
	deleted := time.Now()
	testwait.Eventually(t, 0, "the stream recreated and the bridge ready again", func() bool {
		_, err := js.Stream(ctx, jetstream.DefaultStream)
		return err == nil && r.Bridge().Readiness().Ready
	})
	LetTrafficFlow(2 * time.Second)
	b := r.Bridge()
	if err := r.StopBridge(); err != nil {
		t.Fatal(err)
	}
	var recreated []schema.Event
	ids := map[string]bool{}
	err = jetstream.ReadAll(ctx, js, jetstream.DefaultStream, "", func(m natsjs.Msg) error {
		env, ev, err := schema.Decode(m.Headers(), m.Data())
		if err != nil {
			return err
		}
		if ids[env.ID] {
			t.Errorf("%s stored twice", env.ID)
		}
		ids[env.ID] = true
		if ev.Name == schema.EvStreamRecreated {
			recreated = append(recreated, ev)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(recreated) != 1 {
		t.Fatalf("%d StreamRecreated records, want 1", len(recreated))
	}
	bd := recreated[0].Data.Bridge
	if bd == nil || bd.NATS == nil || bd.NATS.LostLastSeq == 0 || bd.Gap == nil || bd.Gap.Kind != "stream" || bd.Gap.OpenedAt.After(deleted) {
		t.Fatalf("StreamRecreated record: %+v", bd)
	}
	if st := b.Publisher().Stats(); st.Dropped != 0 || st.Rejected != 0 || len(ids) < 50 {
		t.Fatalf("publisher %+v, %d events in the new stream", st, len(ids))
	}
	t.Logf("deleted stream ended at seq %d; the new one holds %d events", bd.NATS.LostLastSeq, len(ids))
}

// A killed bridge restarted while NATS is down too: the new run's provider
// opens before NATS answers, so the engine cannot open the restart gap
// before its first events; the bridge records it itself once NATS is back
// (GapOpened/GapClosed of kind restart, naming the killed run), and the
// checker finds the killed run's unpublished frames inside it.
func TestBridgeRestartedBeforeNATS(t *testing.T) {
	bin := BridgeBinary(t)
	r := StartTestRig(t, RigConfig{})
	cfg := WriteDaemonConfig(t, r)
	d1 := StartTestDaemon(t, bin, cfg)
	WaitNewEvent(t, r, subjInService, "", d1)
	LetTrafficFlow(3 * time.Second)
	if code := d1.StopOrFail(t, syscall.SIGKILL); code != -int(syscall.SIGKILL) {
		t.Fatalf("the bridge was not killed (exit %d)", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), WaitBound)
	defer cancel()
	if err := r.NATS.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	d2 := StartTestDaemon(t, bin, cfg)
	LetTrafficFlow(3 * time.Second)
	if err := r.NATS.Start(); err != nil {
		t.Fatal(err)
	}
	WaitNewEvent(t, r, subjGapClosed, "", d2)
	LetTrafficFlow(2 * time.Second)
	if code := d2.StopOrFail(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0; output:\n%s", code, d2.Out)
	}
	rep, c := CloseAndCheck(t, r)
	if rep.RestartGaps != 1 || c.Count(schema.EvGapOpened) < 1 {
		t.Fatalf("%d restart gaps, want 1:\n%s", rep.RestartGaps, rep)
	}
	if !strings.Contains(d2.Out.String(), "found once NATS answered") {
		t.Fatalf("the restart gap was not recorded the late way:\n%s", d2.Out)
	}
}
