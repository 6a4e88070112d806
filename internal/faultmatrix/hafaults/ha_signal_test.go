package hafaults

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/ctibridge/ctibridge/internal/faultmatrix"
	"github.com/ctibridge/ctibridge/internal/ha"
	"github.com/ctibridge/ctibridge/internal/testwait"
	"github.com/ctibridge/ctibridge/pkg/jetstream"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

func TestMain(m *testing.M) {
	code := m.Run()
	faultmatrix.RemoveBridgeBinary()
	os.Exit(code)
}

// The HA signal tests run two `bridge run` processes as a group against
// the rig's simulator (TLS, one provider per certificate enforced) and
// NATS, and signal the active one.

// startHADaemon starts member name of a group in mode; natsURL, if set,
// is the NATS URL it uses (a proxy).
func startHADaemon(t *testing.T, bin string, r *faultmatrix.Rig, name string, mode ha.Mode, natsURL string) *faultmatrix.TestDaemon {
	t.Helper()
	mc := member(mode, name)
	path := filepath.Join(t.TempDir(), name+".yaml")
	conf := r.DaemonConfig(faultmatrix.DaemonOptions{Instance: name, HA: &faultmatrix.DaemonHA{Mode: string(mode), InstanceID: mc.InstanceID}, NATSURL: natsURL})
	if err := os.WriteFile(path, conf, 0o600); err != nil {
		t.Fatal(err)
	}
	return faultmatrix.StartTestDaemon(t, bin, path)
}

// lastLeader reads the last LeaderAcquired of the rig's cluster.
func lastLeader(r *faultmatrix.Rig) (*schema.Event, uint64) {
	js, err := natsjs.New(r.Conn)
	if err != nil {
		return nil, 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, jetstream.DefaultStream)
	if err != nil {
		return nil, 0
	}
	m, err := s.GetLastMsgForSubject(ctx, ha.EpochSubject(r.Config().Cluster))
	if err != nil {
		return nil, 0
	}
	_, ev, err := schema.Decode(m.Header, m.Data)
	if err != nil {
		return nil, 0
	}
	return &ev, m.Sequence
}

// waitLeader waits until member name's LeaderAcquired is the last on the
// epoch subject and returns its epoch.
func waitLeader(t *testing.T, r *faultmatrix.Rig, name string, ds ...*faultmatrix.TestDaemon) uint64 {
	t.Helper()
	var epoch uint64
	ok := testwait.Poll(40*time.Second, func() bool {
		ev, _ := lastLeader(r)
		if ev == nil || ev.Data.Bridge == nil || !strings.HasPrefix(ev.Data.Bridge.Instance, name+"-") {
			return false
		}
		epoch = ev.Data.Bridge.Leader.Epoch
		return true
	})
	if !ok {
		var out strings.Builder
		for _, d := range ds {
			out.WriteString(d.Out.String())
		}
		t.Fatalf("member %s never became active; output:\n%s", name, out.String())
	}
	return epoch
}

// waitStandbyInSync waits until a hot standby announces itself in sync.
func waitStandbyInSync(t *testing.T, r *faultmatrix.Rig, d *faultmatrix.TestDaemon) {
	t.Helper()
	js, _ := natsjs.New(r.Conn)
	ok := testwait.Poll(40*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		kv, err := js.KeyValue(ctx, jetstream.DefaultLeaderBucket)
		if err != nil {
			return false
		}
		in, err := ha.StandbysInSync(ctx, kv, r.Config().Cluster, "")
		return err == nil && len(in) > 0
	})
	if !ok {
		t.Fatalf("the hot standby never came in sync; output:\n%s", d.Out)
	}
}

// startDaemonPair starts member a, waits until it publishes, then b (and,
// hot, until b is in sync).
func startDaemonPair(t *testing.T, bin string, r *faultmatrix.Rig, mode ha.Mode, aURL string) (*faultmatrix.TestDaemon, *faultmatrix.TestDaemon) {
	t.Helper()
	a := startHADaemon(t, bin, r, "a", mode, aURL)
	waitLeader(t, r, "a", a)
	faultmatrix.WaitNewEvent(t, r, schema.EventFilter(r.Config().Cluster, schema.EvProvInService), "", a)
	b := startHADaemon(t, bin, r, "b", mode, "")
	if mode == ha.ModeHot {
		waitStandbyInSync(t, r, b)
	}
	return a, b
}

// checkHADaemons checks the stream once every daemon has exited.
func checkHADaemons(t *testing.T, r *faultmatrix.Rig, mode ha.Mode) (*faultmatrix.Report, *faultmatrix.Checker) {
	t.Helper()
	return checkHA(t, r, mode)
}

// SIGKILL of the active process: the standby takes over once the lease
// expired. Cold: after waiting the lease out it opens its provider on the
// shared certificate (no clash), its takeover gap reconciled against the
// calls the log held. Hot: it publishes, recovered, what the killed one
// never stored; no gap.
func TestHASIGKILL(t *testing.T) {
	bothModes(t, func(t *testing.T, mode ha.Mode) {
		bin := faultmatrix.BridgeBinary(t)
		r := faultmatrix.StartTestRig(t, haRigConfig())
		a, b := startDaemonPair(t, bin, r, mode, "")
		faultmatrix.LetTrafficFlow(3 * time.Second)
		subjInService := schema.EventFilter(r.Config().Cluster, schema.EvProvInService)
		inService := faultmatrix.WaitNewEvent(t, r, subjInService, "", a)
		if code := a.StopOrFail(t, syscall.SIGKILL); code != -int(syscall.SIGKILL) {
			t.Fatalf("the active bridge was not killed (exit %d)", code)
		}
		waitLeader(t, r, "b", b)
		if mode == ha.ModeCold {
			// Its provider opens only after the lease's wait (as long
			// as the traffic flows below): stopped before that, it
			// never records the takeover gap this test is about.
			faultmatrix.WaitNewEvent(t, r, subjInService, inService, b)
		}
		faultmatrix.LetTrafficFlow(3 * time.Second)
		if code := b.StopOrFail(t, syscall.SIGTERM); code != 0 {
			t.Fatalf("exit code %d after SIGTERM; output:\n%s", code, b.Out)
		}
		rep, c := checkHADaemons(t, r, mode)
		switch mode {
		case ha.ModeCold:
			if rep.RestartGaps != 1 {
				t.Fatalf("%d takeover gaps, want 1:\n%s", rep.RestartGaps, rep)
			}
		case ha.ModeHot:
			if rep.RestartGaps != 0 || c.Count(schema.EvLeaderLost) < 2 {
				t.Fatalf("hot takeover: %d takeover gaps, %d LeaderLost:\n%s", rep.RestartGaps, c.Count(schema.EvLeaderLost), rep)
			}
		}
	})
}

// SIGTERM of the active process: an orderly hand-over. Hot: no gap at all
// (the only provider gap is the last member's own stop). Cold: the
// released lease is taken at once, the standby opens its provider only
// once the active one closed its own (no clash), and closes the gap the
// active one recorded.
func TestHASIGTERM(t *testing.T) {
	bothModes(t, func(t *testing.T, mode ha.Mode) {
		bin := faultmatrix.BridgeBinary(t)
		r := faultmatrix.StartTestRig(t, haRigConfig())
		a, b := startDaemonPair(t, bin, r, mode, "")
		faultmatrix.LetTrafficFlow(3 * time.Second)
		if code := a.StopOrFail(t, syscall.SIGTERM); code != 0 {
			t.Fatalf("exit code %d after SIGTERM; output:\n%s", code, a.Out)
		}
		waitLeader(t, r, "b", b)
		faultmatrix.LetTrafficFlow(3 * time.Second)
		if code := b.StopOrFail(t, syscall.SIGTERM); code != 0 {
			t.Fatalf("exit code %d after SIGTERM; output:\n%s", code, b.Out)
		}
		rep, c := checkHADaemons(t, r, mode)
		if rep.RestartGaps != 0 {
			t.Fatalf("an orderly hand-over recorded a takeover gap:\n%s", rep)
		}
		if mode == ha.ModeHot && (rep.ProviderGaps != 1 || c.Count(schema.EvGapClosed) != 0) {
			t.Fatalf("a hot hand-over opened a gap (only the last member's stop should):\n%s", rep)
		}
	})
}

// SIGSTOP of the active process for 30 s, then SIGCONT: while it is
// paused its lease expires, CTIManager drops its silent provider, and the
// standby takes over (cold: after waiting the lease out, so no clash).
// When it resumes, its deadline is long past: it publishes nothing (the
// log fence would refuse it anyway), closes what is left of its provider
// and becomes a standby.
func TestHASIGSTOP(t *testing.T) {
	bin := faultmatrix.BridgeBinary(t)
	r := faultmatrix.StartTestRig(t, haRigConfig())
	a, b := startDaemonPair(t, bin, r, ha.ModeCold, "")
	faultmatrix.LetTrafficFlow(2 * time.Second)
	if err := a.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	paused := time.Now()
	waitLeader(t, r, "b", b)
	faultmatrix.LetTrafficFlow(30*time.Second - time.Since(paused))
	if err := a.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	faultmatrix.LetTrafficFlow(3 * time.Second)
	if ev, _ := lastLeader(r); ev == nil || !strings.HasPrefix(ev.Data.Bridge.Instance, "b-") {
		t.Fatal("the resumed bridge took the lease back")
	}
	for _, d := range []*faultmatrix.TestDaemon{a, b} {
		if code := d.StopOrFail(t, syscall.SIGTERM); code != 0 {
			t.Fatalf("exit code %d after SIGTERM; output:\n%s", code, d.Out)
		}
	}
	rep, _ := checkHADaemons(t, r, ha.ModeCold)
	if rep.RestartGaps != 1 {
		t.Fatalf("%d takeover gaps, want 1:\n%s", rep.RestartGaps, rep)
	}
}

// The active process cut off from NATS (a TCP proxy drops its
// connection) while it still talks to CTIManager: its renewals fail, and
// at its deadline it stops publishing (cold: closes its provider) before
// the lease can expire on the server; the standby takes over. When NATS is
// back, the cut-off one is a standby.
func TestHANATSCutOff(t *testing.T) {
	bothModes(t, func(t *testing.T, mode ha.Mode) {
		bin := faultmatrix.BridgeBinary(t)
		r := faultmatrix.StartTestRig(t, haRigConfig())
		p, err := r.StartProxy()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		a, b := startDaemonPair(t, bin, r, mode, p.URL())
		faultmatrix.LetTrafficFlow(2 * time.Second)
		p.Cut()
		waitLeader(t, r, "b", b)
		faultmatrix.LetTrafficFlow(2 * time.Second)
		p.Heal()
		faultmatrix.LetTrafficFlow(2 * time.Second)
		if ev, _ := lastLeader(r); ev == nil || !strings.HasPrefix(ev.Data.Bridge.Instance, "b-") {
			t.Fatal("the cut-off bridge took the lease back")
		}
		for _, d := range []*faultmatrix.TestDaemon{a, b} {
			if code := d.StopOrFail(t, syscall.SIGTERM); code != 0 {
				t.Fatalf("exit code %d after SIGTERM; output:\n%s", code, d.Out)
			}
		}
		checkHADaemons(t, r, mode)
	})
}
