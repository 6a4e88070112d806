package hafaults

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/ctibridge/ctibridge/internal/bridge"
	"github.com/ctibridge/ctibridge/internal/faultmatrix"
	"github.com/ctibridge/ctibridge/internal/ha"
	"github.com/ctibridge/ctibridge/internal/ha/lease"
	"github.com/ctibridge/ctibridge/internal/testwait"
	"github.com/ctibridge/ctibridge/pkg/callstate"
	"github.com/ctibridge/ctibridge/pkg/ctisim/traffic"
	"github.com/ctibridge/ctibridge/pkg/jetstream"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// BenchmarkHATakeover measures a takeover after a crash of the active
// bridge with 10,000 observed phones and 2,000 connected calls, in cold
// and hot mode, on the rig (simulator over TLS, embedded JetStream, two
// in-process members; lease TTL 2 s, server heartbeat 2 s, so a cold
// standby waits 5 s — twice the heartbeat and a second — before opening
// its provider, reported as wait-ms). Each op: the active
// member is killed (links dropped, lease left to expire) and 100 calls are
// placed right after, inside the takeover window. Reported (medians over
// the ops), from the kill:
//
//   - lease-ms: to the new active's epoch marker stored (the lease's
//     expiry dominates: up to a TTL after the last renewal);
//
//   - first-event-ms: to its first event from CTI stored (cold: after
//     its wait, provider open and first frame; hot: the first recovered
//     event);
//
//   - complete-ms: to the takeover complete in the log (cold: GapClosed,
//     the snapshot reconciled; hot: the last recovered event);
//
//   - after-lease-ms: first-event-ms minus lease-ms, what the standby
//     itself spends once it holds the lease;
//
//   - recovered: events published as recovered (hot) / calls-discovered
//     and calls-ended by the gap's reconciliation (cold);
//
//   - calls-lost: calls up in the simulator at the end that the log's
//     fold does not hold, plus calls the fold holds that are not up.
//
//     go test -run '^$' -bench 'HATakeover' -benchtime 3x -timeout 30m ./internal/faultmatrix/hafaults
func BenchmarkHATakeover(b *testing.B) {
	for _, mode := range []ha.Mode{ha.ModeCold, ha.ModeHot} {
		b.Run(string(mode), func(b *testing.B) { benchTakeover(b, mode) })
	}
}

const (
	benchPhones      = 10_000
	benchCalls       = 2_000
	benchWindowCalls = 100
	benchTTL         = 2 * time.Second
)

type takeoverFigures struct {
	lease, first, complete   time.Duration
	wait                     time.Duration
	recovered, ended, disc   int
	callsLost, callsExpected int
}

func benchTakeover(b *testing.B, mode ha.Mode) {
	var figs []takeoverFigures
	for i := 0; i < b.N; i++ {
		figs = append(figs, takeoverOnce(b, mode))
	}
	med := func(f func(takeoverFigures) float64) float64 {
		v := make([]float64, len(figs))
		for i, x := range figs {
			v[i] = f(x)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(med(func(x takeoverFigures) float64 { return ms(x.lease) }), "lease-ms")
	b.ReportMetric(med(func(x takeoverFigures) float64 { return ms(x.first) }), "first-event-ms")
	b.ReportMetric(med(func(x takeoverFigures) float64 { return ms(x.complete) }), "complete-ms")
	b.ReportMetric(med(func(x takeoverFigures) float64 { return ms(x.first - x.lease) }), "after-lease-ms")
	b.ReportMetric(med(func(x takeoverFigures) float64 { return ms(x.wait) }), "wait-ms")
	b.ReportMetric(med(func(x takeoverFigures) float64 { return float64(x.recovered) }), "recovered")
	b.ReportMetric(med(func(x takeoverFigures) float64 { return float64(x.ended) }), "calls-ended")
	b.ReportMetric(med(func(x takeoverFigures) float64 { return float64(x.disc) }), "calls-discovered")
	b.ReportMetric(med(func(x takeoverFigures) float64 { return float64(x.callsLost) }), "calls-lost")
	b.ReportMetric(med(func(x takeoverFigures) float64 { return float64(x.callsExpected) }), "calls-up")
}

func takeoverOnce(b *testing.B, mode ha.Mode) takeoverFigures {
	b.StopTimer()
	r, err := faultmatrix.StartRig(faultmatrix.RigConfig{
		DataDir: b.TempDir(), Phones: benchPhones, ManualTime: true, Heartbeat: 2 * time.Second, Seed: 1,
		Traffic:      traffic.Config{RingTime: 100 * time.Millisecond, TalkTime: time.Hour},
		TLSInstances: haInstances, LeaderTTL: benchTTL, Logger: benchLogger(),
	})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	tune := func(c *bridge.Config) {
		c.Publisher = jetstream.Config{BufferSize: 1 << 20, BufferBytes: 1 << 30}
		c.Engine.CtiRequestTimeout, c.Engine.ProviderOpenRequestTimeout = 30*time.Second, 30*time.Second
	}
	for _, name := range []string{"a", "b"} {
		mc := member(mode, name)
		mc.HA.Lease = lease.Config{TTL: benchTTL}
		mc.Tune = tune
		if _, err := r.StartMember(name, mc); err != nil {
			b.Fatal(err)
		}
		if name == "a" {
			if got, err := r.WaitActive(2*time.Minute, ""); err != nil || got != "a" {
				b.Fatalf("a not active: %s %v", got, err)
			}
		}
	}
	// The member to kill is whichever is active once everything has
	// settled (a lease may move while 10,000 devices open on a loaded
	// machine).
	status := func(name string) (devices, calls int, ok bool) {
		m := r.Member(name)
		if m == nil || m.Engine() == nil {
			return 0, 0, false
		}
		st := m.Engine().Status()
		return st.DevicesInService, st.Calls, true
	}
	var active, standby string
	settled := func(wantCalls int) bool {
		active = r.ActiveMember()
		standby = map[string]string{"a": "b", "b": "a"}[active]
		if active == "" || !r.Member(standby).ReadyToTakeOver() {
			return false
		}
		for _, name := range []string{active, standby} {
			if name == standby && mode == ha.ModeCold {
				continue
			}
			if d, c, ok := status(name); !ok || d < benchPhones || c < wantCalls {
				return false
			}
		}
		return true
	}
	if !testwait.Poll(3*time.Minute, func() bool { return settled(0) }) {
		b.Fatal("the members never settled")
	}
	placeRigCalls(b, r, 0, benchCalls)
	if !testwait.Poll(2*time.Minute, func() bool { return settled(benchCalls) }) {
		b.Fatal("the calls were never all tracked")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	if err := r.Member(active).Publisher().Flush(ctx); err != nil {
		b.Fatal(err)
	}
	cancel()

	b.StartTimer()
	killed := time.Now()
	r.KillMember(active)
	placeRigCalls(b, r, benchCalls, benchWindowCalls)
	if _, err := r.WaitActive(2*time.Minute, active); err != nil {
		b.Fatal(err)
	}
	var f takeoverFigures
	done := func() bool {
		var ok bool
		f, ok = takeoverTimes(b, r, mode, standby, killed)
		return ok
	}
	if !testwait.Poll(2*time.Minute, done) {
		b.Fatalf("the takeover never completed in the log: %+v", f)
	}
	b.StopTimer()
	if err := r.Sim.Advance(time.Second); err != nil {
		b.Fatal(err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := r.Member(standby).Publisher().Flush(ctx); err != nil {
		b.Fatal(err)
	}
	f.callsLost, f.callsExpected = callsLost(b, r)
	return f
}

// placeRigCalls connects n basic calls between phone pairs of the rig's
// phone block, starting at pair from.
func placeRigCalls(b *testing.B, r *faultmatrix.Rig, from, n int) {
	b.Helper()
	for i := from; i < from+n; i++ {
		a, c := strconv.Itoa(faultmatrix.PhoneBlockFirstDN+2*i), strconv.Itoa(faultmatrix.PhoneBlockFirstDN+2*i+1)
		if _, err := r.Sim.Place(traffic.Basic, a, c, ""); err != nil {
			b.Fatal(err)
		}
		if (i+1-from)%200 == 0 || i == from+n-1 {
			if err := r.Sim.Advance(2 * time.Second); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// takeoverTimes reads the log for the successor's tenure begun after the
// kill: its marker,
// its first event from CTI, and its completion (cold: GapClosed; hot: the
// last recovered event) — the storage times, from killed.
func takeoverTimes(b *testing.B, r *faultmatrix.Rig, mode ha.Mode, successor string, killed time.Time) (takeoverFigures, bool) {
	js, err := natsjs.New(r.Conn)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var f takeoverFigures
	var marker, first, gapClosed, lastRecovered time.Time
	err = jetstream.ReadAll(ctx, js, jetstream.DefaultStream, "", func(m natsjs.Msg) error {
		meta, err := m.Metadata()
		if err != nil {
			return err
		}
		_, ev, err := schema.Decode(m.Headers(), m.Data())
		if err != nil {
			return nil
		}
		switch {
		case ev.Name == schema.EvLeaderAcquired && ev.Data.Bridge != nil && meta.Timestamp.After(killed) &&
			strings.HasPrefix(ev.Data.Bridge.Instance, successor):
			if !marker.IsZero() {
				return fmt.Errorf("member %s took the lease twice after the kill", successor)
			}
			marker = meta.Timestamp
			f.wait = time.Duration(ev.Data.Bridge.Leader.WaitMs) * time.Millisecond
		case marker.IsZero():
		case ev.Frame != "" && first.IsZero():
			first = meta.Timestamp
		}
		if marker.IsZero() {
			return nil
		}
		if ev.Data.Recovered {
			f.recovered++
			lastRecovered = meta.Timestamp
		}
		if ev.Name == schema.EvGapClosed && gapClosed.IsZero() && ev.Data.Bridge != nil && ev.Data.Bridge.Gap != nil {
			gapClosed = meta.Timestamp
			f.ended, f.disc = ev.Data.Bridge.Gap.CallsEnded, ev.Data.Bridge.Gap.CallsDiscovered
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	complete := gapClosed
	if mode == ha.ModeHot {
		complete = lastRecovered
	}
	if marker.IsZero() || first.IsZero() || complete.IsZero() {
		return f, false
	}
	f.lease, f.first, f.complete = marker.Sub(killed), first.Sub(killed), complete.Sub(killed)
	return f, true
}

// callsLost compares the calls up in the simulator with the calls the
// log's fold holds.
func callsLost(b *testing.B, r *faultmatrix.Rig) (lost, up int) {
	js, err := natsjs.New(r.Conn)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st := callstate.New()
	if err := jetstream.ReadAll(ctx, js, jetstream.DefaultStream, "", func(m natsjs.Msg) error {
		if _, ev, err := schema.Decode(m.Headers(), m.Data()); err == nil {
			st.Apply(ev)
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	folded := map[string]bool{}
	for _, c := range st.Calls() {
		folded[c.ID] = true
	}
	up = r.Sim.ActiveCalls()
	return absDiff(len(folded), up), up
}

// benchLogger is silent unless FAULTMATRIX_LOG names a level: then the
// members' logs go to stderr at that level.
func benchLogger() zerolog.Logger {
	if os.Getenv("FAULTMATRIX_LOG") == "" {
		return zerolog.Nop()
	}
	return zerolog.New(os.Stderr).With().Timestamp().Logger().Level(faultmatrix.LogLevelFromEnv())
}

func absDiff(a, b int) int {
	if a > b {
		return a - b
	}
	return b - a
}
