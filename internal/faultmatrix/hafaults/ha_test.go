package hafaults

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/ctibridge/ctibridge/internal/bridge"
	"github.com/ctibridge/ctibridge/internal/failpoint"
	"github.com/ctibridge/ctibridge/internal/faultmatrix"
	"github.com/ctibridge/ctibridge/internal/ha"
	"github.com/ctibridge/ctibridge/internal/ha/lease"
	"github.com/ctibridge/ctibridge/internal/testwait"
	"github.com/ctibridge/ctibridge/pkg/jetstream"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// The high-availability tests run a group of two bridges against the
// simulator, which enforces one provider per client certificate over
// TLS: cold members share the certificate "shared", hot members have
// their own. The lease TTL is short (3 s) so that a takeover after a crash
// takes seconds; the rig's heartbeat is 500 ms, so CTIManager drops a
// silent client within a second.

const haTTL = 3 * time.Second

var haInstances = []string{"shared", "bridge-a", "bridge-b"}

// haRigConfig is the rig of the HA tests.
func haRigConfig() faultmatrix.RigConfig {
	return faultmatrix.RigConfig{TLSInstances: haInstances, LeaderTTL: haTTL}
}

// member describes a member of the group for the given mode.
func member(mode ha.Mode, name string) faultmatrix.MemberConfig {
	// A member that stepped down stays out of the election for half a
	// second (the default is two campaign intervals), so that forced
	// hand-overs in a row do not wait for each other.
	mc := faultmatrix.MemberConfig{HA: bridge.HAConfig{Mode: mode, Lease: lease.Config{TTL: haTTL}, StepDownHold: 500 * time.Millisecond}, InstanceID: "shared"}
	if mode == ha.ModeHot {
		mc.InstanceID = "bridge-" + name
	}
	return mc
}

func startMember(t *testing.T, r *faultmatrix.Rig, mode ha.Mode, name string) {
	t.Helper()
	startMemberWith(t, r, name, member(mode, name))
}

func startMemberWith(t *testing.T, r *faultmatrix.Rig, name string, mc faultmatrix.MemberConfig) {
	t.Helper()
	if _, err := r.StartMember(name, mc); err != nil {
		t.Fatal(err)
	}
}

func waitActive(t *testing.T, r *faultmatrix.Rig, not string) string {
	t.Helper()
	// A takeover needs the lease (up to a TTL after a crash), the marker
	// and, cold, the provider's open and snapshots.
	name, err := r.WaitActive(2*faultmatrix.WaitBound, not)
	if err != nil {
		t.Fatal(err)
	}
	return name
}

// startPair starts member a, waits until it is active, then starts b.
func startPair(t *testing.T, r *faultmatrix.Rig, mode ha.Mode) {
	t.Helper()
	startPairWith(t, r, mode, nil)
}

// startPairWith is startPair with each member's configuration adjusted by
// tune.
func startPairWith(t *testing.T, r *faultmatrix.Rig, mode ha.Mode, tune func(*faultmatrix.MemberConfig)) {
	t.Helper()
	for i, name := range []string{"a", "b"} {
		mc := member(mode, name)
		if tune != nil {
			tune(&mc)
		}
		startMemberWith(t, r, name, mc)
		if i == 0 {
			if got := waitActive(t, r, ""); got != "a" {
				t.Fatalf("member %s active, want a", got)
			}
		}
	}
	if mode == ha.ModeHot {
		waitStandbyInService(t, r, "b")
	}
}

// waitStandbyInService waits until a hot standby's own provider is in
// service with its snapshots in.
func waitStandbyInService(t *testing.T, r *faultmatrix.Rig, name string) {
	t.Helper()
	testwait.Eventually(t, faultmatrix.WaitBound, "the hot standby "+name+" in service", func() bool {
		eng := r.Member(name).Engine()
		return eng != nil && eng.Status().Ready && eng.Status().Link == "up"
	})
}

// checkHA stops every member, closes the simulator and checks the stream
// against the ground truth with the high-availability rules; a cold group
// must never have tripped the one-provider-per-certificate rule.
func checkHA(t *testing.T, r *faultmatrix.Rig, mode ha.Mode) (*faultmatrix.Report, *faultmatrix.Checker) {
	t.Helper()
	return checkHAWith(t, r, mode, 2)
}

// checkHAWith is checkHA expecting at least tenures LeaderAcquired.
func checkHAWith(t *testing.T, r *faultmatrix.Rig, mode ha.Mode, tenures int) (*faultmatrix.Report, *faultmatrix.Checker) {
	t.Helper()
	// Standbys first: the active member then stops with nobody to hand
	// over to, and the tenures counted are the test's.
	active := r.ActiveMember()
	for _, name := range []string{"a", "b", active} {
		if name != active || r.MemberCount() == 1 {
			if err := r.StopMember(name); err != nil {
				t.Fatalf("stopping %s: %v", name, err)
			}
		}
	}
	if n := r.CertificateClashes(); n != 0 {
		t.Fatalf("%d DUPLICATECERTUSED/CERTCOMPROMISED closes: two providers held the shared certificate at once", n)
	}
	t.Logf("%s group", mode)
	rep, c := faultmatrix.CloseAndCheckWith(t, r, true)
	if c.Count(schema.EvLeaderAcquired) < tenures {
		t.Fatalf("%d LeaderAcquired in the stream, want %d:\n%s", c.Count(schema.EvLeaderAcquired), tenures, rep)
	}
	return rep, c
}

// Both members started at once: exactly one becomes active (Create
// decides), the other stays standby; a cold group never has two providers
// on the shared certificate.
func TestHABothStartedAtOnce(t *testing.T) {
	bothModes(t, func(t *testing.T, mode ha.Mode) {
		r := faultmatrix.StartTestRig(t, haRigConfig())
		startMember(t, r, mode, "a")
		startMember(t, r, mode, "b")
		first := waitActive(t, r, "")
		faultmatrix.LetTrafficFlow(3 * time.Second)
		if got := r.ActiveMember(); got != first {
			t.Fatalf("the active member changed from %s to %s without a fault", first, got)
		}
		_, c := checkHAWith(t, r, mode, 1)
		if n := c.Count(schema.EvLeaderAcquired); n != 1 {
			t.Fatalf("%d tenures, want 1", n)
		}
	})
}

// bothModes runs f for a cold and a hot group side by side: each has its
// own rig, and the tests mostly wait on leases and heartbeats.
func bothModes(t *testing.T, f func(t *testing.T, mode ha.Mode)) {
	for _, mode := range []ha.Mode{ha.ModeCold, ha.ModeHot} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			f(t, mode)
		})
	}
}

// Forced hand-overs in a row under load: the active member steps down, the
// other takes over, fifty times. Nothing is lost or stored twice, a cold
// group never clashes on its certificate, a hot group never opens a gap.
// steadyBacklog is the publisher backlog below which a member counts as
// keeping up with the hand-over test's traffic (20 calls/s make ≈ 400
// events/s: about half a second's worth).
const steadyBacklog = 200

func TestHAFiftyHandovers(t *testing.T) {
	// Not in parallel, one group at a time, as they were verified.
	for _, mode := range []ha.Mode{ha.ModeCold, ha.ModeHot} {
		t.Run(string(mode), func(t *testing.T) {
			// The fault here is the hand-over. With the HA rig's 500 ms
			// heartbeat, a loaded 2-core runner under -race starves
			// heartbeats and adds CTIManager failovers nobody asked for
			// (a hot run failed so: ten call changes unexplained while a
			// failover's session reconciled; TestHACTIManagerFailoverDuringHandover
			// is the test of that combination). A 5 s heartbeat, as the
			// NATS fault tests use, keeps CTI quiet.
			r := faultmatrix.StartTestRig(t, faultmatrix.RigConfig{TLSInstances: haInstances, LeaderTTL: haTTL, Rate: 20, Heartbeat: 5 * time.Second})
			startPair(t, r, mode)
			const n = 50
			active := "a"
			for i := 0; i < n; i++ {
				other := map[string]string{"a": "b", "b": "a"}[active]
				testwait.Eventually(t, 2*faultmatrix.WaitBound, "the standby "+other+" ready to take over", r.Member(other).ReadyToTakeOver)
				// Each hand-over starts from a group that keeps up with
				// the traffic. Under -race on a loaded 2-core runner the
				// pipeline runs close to the traffic's rate, and back-to-back
				// hand-overs, each flushing the backlog of the one before
				// and recovering what came meanwhile, made every one slower
				// than the last (a test artefact: an orderly release waits
				// for its backlog, however long, and loses nothing).
				testwait.Eventually(t, 2*faultmatrix.WaitBound, "the active "+active+" keeping up with the traffic", func() bool {
					return r.Member(active).Publisher().Stats().Buffered < steadyBacklog
				})
				began := time.Now()
				r.Member(active).StepDown()
				next := waitActive(t, r, active)
				t.Logf("hand-over %d: %s → %s in %s", i+1, active, next, time.Since(began).Round(time.Millisecond))
				if next == active {
					t.Fatalf("hand-over %d: %s still active", i+1, active)
				}
				active = next
			}
			faultmatrix.LetTrafficFlow(time.Second)
			rep, c := checkHAWith(t, r, mode, n+1)
			// Orderly hand-overs: never a takeover gap. A hot group's
			// hand-overs open no gap at all (a provider gap there is a
			// CTIManager link lost, e.g. a starved heartbeat on a loaded
			// machine, and closes like any failover's).
			if rep.RestartGaps != 0 {
				t.Fatalf("orderly hand-overs recorded takeover gaps:\n%s", rep)
			}
			if mode == ha.ModeHot && c.Count(schema.EvLeaderLost) < n {
				t.Fatalf("%d LeaderLost for %d hand-overs:\n%s", c.Count(schema.EvLeaderLost), n, rep)
			}
		})
	}
}

// A CTIManager failover during a hand-over: the node both members use
// dies while the lease moves. The new active fails over to the backup
// like any bridge; nothing is lost outside the gaps, no clash.
func TestHACTIManagerFailoverDuringHandover(t *testing.T) {
	bothModes(t, func(t *testing.T, mode ha.Mode) {
		r := faultmatrix.StartTestRig(t, haRigConfig())
		startPair(t, r, mode)
		faultmatrix.LetTrafficFlow(2 * time.Second)
		r.Member("a").StepDown()
		if err := r.Sim.KillNode("ctim-a"); err != nil {
			t.Fatal(err)
		}
		name, err := r.WaitActive(2*faultmatrix.WaitBound, "a")
		if err != nil {
			t.Fatal(err)
		}
		testwait.Eventually(t, faultmatrix.WaitBound, "the new active on the backup CTIManager", func() bool {
			st := r.Member(name).Engine().Status()
			return st.Ready && st.CTIManager == "ctim-b"
		})
		faultmatrix.LetTrafficFlow(2 * time.Second)
		checkHA(t, r, mode)
	})
}

// A NATS leader change during a hand-over, on a three-node NATS cluster
// (stream and buckets R3): the active member steps down and, while the
// lease moves, the leaders of the event stream and of the lease bucket
// step down too. The new active's marker, its fence and its publishes go
// through the election (replicated streams answer the fence's contention
// with 10164, resent like any unknown outcome); nothing is lost, no clash.
func TestHANATSLeaderChange(t *testing.T) {
	bothModes(t, func(t *testing.T, mode ha.Mode) {
		r := faultmatrix.StartTestRig(t, faultmatrix.RigConfig{TLSInstances: haInstances, LeaderTTL: haTTL, NATSCluster: 3})
		// The member stepping down stays out of the election for two
		// TTLs: long enough for the lease bucket's new leader to be
		// elected and for the other member's campaign to go through
		// it (with the tests' half-second hold it could win the lease
		// back first).
		startPairWith(t, r, mode, func(mc *faultmatrix.MemberConfig) { mc.HA.StepDownHold = 2 * haTTL })
		faultmatrix.LetTrafficFlow(2 * time.Second)
		ctx, cancel := context.WithTimeout(context.Background(), faultmatrix.WaitBound)
		defer cancel()
		before := r.NATSCluster.StreamLeader(jetstream.DefaultStream)
		r.Member("a").StepDown()
		for _, s := range []string{jetstream.DefaultStream, "KV_" + jetstream.DefaultLeaderBucket} {
			if err := r.NATSCluster.StepDown(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		if got := waitActive(t, r, "a"); got != "b" {
			t.Fatalf("member %s active, want b", got)
		}
		testwait.Eventually(t, faultmatrix.WaitBound, "a new leader of the event stream", func() bool {
			l := r.NATSCluster.StreamLeader(jetstream.DefaultStream)
			return l >= 0 && l != before
		})
		faultmatrix.LetTrafficFlow(2 * time.Second)
		checkHA(t, r, mode)
	})
}

// The fence in the log stops a stale active that its own clock does not
// stop: the lease is taken from the active member behind its back (its
// key deleted, as a server would expire it while the member's clock runs
// slow), the other member takes over and writes its marker; the stale
// one, still within its deadline, keeps publishing — and the server
// refuses every publish from the marker on, so it demotes itself. Hot
// members (their own certificates): the stale one's provider may stay
// open; the stream holds each change once.
func TestHAStaleActiveFencedByTheLog(t *testing.T) {
	r := faultmatrix.StartTestRig(t, faultmatrix.RigConfig{TLSInstances: haInstances, LeaderTTL: haTTL, Rate: 20})
	startPair(t, r, ha.ModeHot)
	faultmatrix.LetTrafficFlow(time.Second)
	js, err := natsjs.New(r.Conn)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), faultmatrix.WaitBound)
	defer cancel()
	kv, err := js.KeyValue(ctx, jetstream.DefaultLeaderBucket)
	if err != nil {
		t.Fatal(err)
	}
	// Right after a renewal of a's, so that its next one (a conflict,
	// which would also end its tenure) comes long after b's marker.
	renewals := func() uint64 {
		st, _ := r.Member("a").Status().(map[string]any)
		hs, _ := st["ha"].(map[string]any)
		ls, _ := hs["lease"].(ha.ElectorStatus)
		return ls.Renewals
	}
	n := renewals()
	testwait.Eventually(t, faultmatrix.WaitBound, "a renewal of the active member", func() bool { return renewals() > n })
	if err := kv.Delete(ctx, ha.LeaseKey("lab")); err != nil {
		t.Fatal(err)
	}
	if got := waitActive(t, r, "a"); got != "b" {
		t.Fatalf("member %s active, want b", got)
	}
	testwait.Eventually(t, faultmatrix.WaitBound, "the stale member refused by the log fence", func() bool {
		return r.Member("a").Publisher().Stats().Fenced > 0 && !r.Member("a").IsActive()
	})
	faultmatrix.LetTrafficFlow(time.Second)
	checkHA(t, r, ha.ModeHot)
}

// Members started before their NATS server (the stream and the lease
// bucket provisioned by the members, in the background, once NATS
// answers): while NATS is down neither campaigns nor publishes — no
// lease, no provider on the shared certificate, /readyz names NATS —
// and once it is up exactly one tenure begins and the stream holds every
// change of the members' providers.
func TestHAMembersStartedBeforeNATS(t *testing.T) {
	bothModes(t, func(t *testing.T, mode ha.Mode) {
		r := faultmatrix.StartTestRig(t, faultmatrix.RigConfig{TLSInstances: haInstances, LeaderTTL: haTTL, NATSLater: true})
		startMember(t, r, mode, "a")
		startMember(t, r, mode, "b")
		for _, name := range []string{"a", "b"} {
			testwait.Eventually(t, faultmatrix.WaitBound, "member "+name+" not ready, naming NATS", func() bool {
				rd := r.Member(name).Readiness()
				return !rd.Ready && slices.ContainsFunc(rd.Reasons, func(s string) bool { return strings.HasPrefix(s, "NATS not reachable") })
			})
		}
		faultmatrix.LetTrafficFlow(2 * time.Second)
		for _, name := range []string{"a", "b"} {
			m := r.Member(name)
			if m.IsActive() {
				t.Fatalf("member %s active before NATS is up", name)
			}
			if m.Publisher().Stats().Published != 0 {
				t.Fatalf("member %s published before NATS is up", name)
			}
			if mode == ha.ModeCold && m.Engine() != nil {
				t.Fatalf("cold member %s has a provider before holding the lease", name)
			}
		}
		if err := r.StartNATS(); err != nil {
			t.Fatal(err)
		}
		first := waitActive(t, r, "")
		if mode == ha.ModeHot {
			other := map[string]string{"a": "b", "b": "a"}[first]
			waitStandbyInService(t, r, other)
		}
		faultmatrix.LetTrafficFlow(2 * time.Second)
		if got := r.ActiveMember(); got != first {
			t.Fatalf("member %s active, then %s: one tenure wanted", first, got)
		}
		checkHAWith(t, r, mode, 1)
	})
}

// A cold successor that hands over again before its provider opened: a
// in service, every CTIManager dies (a's provider out of service, its gap
// open), a steps down, b takes over the open gap and steps down before it
// can open a provider, a takes over again, the CTIManagers come back.
// b's LeaderLost names the gap it took over, so a closes that gap: no
// takeover gap, nothing lost, no clash.
func TestHAColdSuccessorHandsOverBeforeItsProviderOpens(t *testing.T) {
	r := faultmatrix.StartTestRig(t, haRigConfig())
	startPair(t, r, ha.ModeCold)
	faultmatrix.LetTrafficFlow(time.Second)
	var nodes []string
	for _, n := range r.Sim.Nodes() {
		nodes = append(nodes, n.Name)
		if err := r.Sim.KillNode(n.Name); err != nil {
			t.Fatal(err)
		}
	}
	testwait.Eventually(t, faultmatrix.WaitBound, "a's provider out of service", func() bool {
		return !r.Member("a").Engine().Status().Ready
	})
	handOver := func(from, to string) {
		t.Helper()
		r.Member(from).StepDown()
		testwait.Eventually(t, 2*faultmatrix.WaitBound, to+" holding the lease, "+from+" not", func() bool {
			return r.Member(to).IsActive() && !r.Member(from).IsActive()
		})
	}
	testwait.Eventually(t, faultmatrix.WaitBound, "the standby b ready to take over", r.Member("b").ReadyToTakeOver)
	handOver("a", "b")
	testwait.Eventually(t, faultmatrix.WaitBound, "the standby a ready to take over", r.Member("a").ReadyToTakeOver)
	if eng := r.Member("b").Engine(); eng != nil && eng.Status().Ready {
		t.Fatal("b's provider opened with every CTIManager down")
	}
	handOver("b", "a")
	for _, n := range nodes {
		if err := r.Sim.RestoreNode(n); err != nil {
			t.Fatal(err)
		}
	}
	if got := waitActive(t, r, ""); got != "a" {
		t.Fatalf("member %s active, want a", got)
	}
	faultmatrix.LetTrafficFlow(2 * time.Second)
	rep, c := checkHAWith(t, r, ha.ModeCold, 3)
	if rep.RestartGaps != 0 {
		t.Fatalf("the gap a opened was not handed on through b's tenure: a takeover gap was recorded:\n%s", rep)
	}
	if c.Count(schema.EvLeaderLost) < 2 {
		t.Fatalf("%d LeaderLost for two hand-overs:\n%s", c.Count(schema.EvLeaderLost), rep)
	}
}

// memberInfo is the member part of a member's /status (ha.member).
type memberInfo struct {
	Role      string `json:"role"`
	Takeovers int    `json:"takeovers"`
	Demotions int    `json:"demotions"`
	LastLoss  string `json:"lastLoss"`
}

func memberStatus(t *testing.T, r *faultmatrix.Rig, name string) memberInfo {
	t.Helper()
	st, _ := r.Member(name).Status().(map[string]any)
	b, err := json.Marshal(st["ha"])
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Member memberInfo `json:"member"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out.Member
}

// A hot takeover that cannot complete gives the lease back and returns the
// member to standby. Member b's read of the log up to its marker fails
// (bridge.FailpointHotTakeoverRead, as a follower stalled for the takeover
// timeout): when a steps down, b takes the lease, writes its marker, cuts
// its session and hands the lease back; a takes over again. b is then a
// standby again — /status says so, it observes into its window and is
// ready to take over — and the stream holds every change once. It used to
// stay holding: /status said active, every event it observed was kept in
// memory for a later takeover to publish, stale, and it was never ready
// to take over again.
func TestHAAbandonedHotTakeover(t *testing.T) {
	const mode = ha.ModeHot
	r := faultmatrix.StartTestRig(t, haRigConfig())
	startPair(t, r, mode)
	instance := memberInstance(r, "b")
	stalled := errors.New("the follower stalled (failpoint)")
	t.Cleanup(failpoint.Enable(bridge.FailpointHotTakeoverRead, instance, func() error { return stalled }))
	testwait.Eventually(t, faultmatrix.WaitBound, "b ready to take over", r.Member("b").ReadyToTakeOver)
	faultmatrix.LetTrafficFlow(time.Second)

	r.Member("a").StepDown()
	testwait.Eventually(t, faultmatrix.WaitBound, "b's takeover abandoned", func() bool {
		st := memberStatus(t, r, "b")
		return st.Takeovers >= 1 && st.Demotions >= 1
	})
	testwait.Eventually(t, 2*faultmatrix.WaitBound, "a active again", func() bool { return r.ActiveMember() == "a" })
	testwait.Eventually(t, faultmatrix.WaitBound, "b a standby ready to take over again", r.Member("b").ReadyToTakeOver)
	if st := memberStatus(t, r, "b"); st.Role != "standby" || st.LastLoss != "released" {
		t.Fatalf("b after its abandoned takeover: %+v, want a standby whose last tenure was released", st)
	}
	faultmatrix.LetTrafficFlow(time.Second)
	checkHAWith(t, r, mode, 3)
}

// An abandoned hot takeover loses nothing when the member that gave the
// lease back is the one to take over later: b's read of the log fails
// once a has stepped down, a is killed, and b — the failpoint off again —
// takes over alone. What b observed before its abandoned takeover, while
// it held, and after is in its window, and its takeover publishes what the
// log lacks (recovered): nothing is lost or stored twice. (Returned to
// standby with a new, empty window instead, b lost what it held.) The
// test was out of the suite from 2026-12-07 13:50 to 16:10 after failing
// once under load; the cause was not in the takeover but at the test's
// end: b stopped while a's presence key, outliving a, said a standby was
// in sync, so b handed over to nobody (see
// TestHAActiveStopsRightAfterItsStandbyDied).
func TestHAAbandonedHotTakeoverThenAlone(t *testing.T) {
	const mode = ha.ModeHot
	// 20 calls/s and a stall of 300 ms: the abandoned takeover holds
	// some hundred events, which must reach the log through b's window.
	r := faultmatrix.StartTestRig(t, faultmatrix.RigConfig{TLSInstances: haInstances, LeaderTTL: haTTL, Rate: 20})
	startPair(t, r, mode)
	instance := memberInstance(r, "b")
	stalled := errors.New("the follower stalled (failpoint)")
	disable := failpoint.Enable(bridge.FailpointHotTakeoverRead, instance, func() error {
		time.Sleep(300 * time.Millisecond) // the stall itself, not a wait for anything
		return stalled
	})
	t.Cleanup(disable)
	testwait.Eventually(t, faultmatrix.WaitBound, "b ready to take over", r.Member("b").ReadyToTakeOver)
	faultmatrix.LetTrafficFlow(time.Second)

	r.Member("a").StepDown()
	testwait.Eventually(t, faultmatrix.WaitBound, "b's takeover abandoned", func() bool {
		return memberStatus(t, r, "b").Demotions >= 1
	})
	r.KillMember("a")
	disable()
	testwait.Eventually(t, 2*faultmatrix.WaitBound, "b active", func() bool { return r.ActiveMember() == "b" })
	faultmatrix.LetTrafficFlow(time.Second)
	checkHAWith(t, r, mode, 3)
}

// A hot takeover holds the events its engine produces while it reads the
// log up to its marker, at most as many as its window may keep: b's
// follower passes nothing (a failpoint) and its takeover timeout is 30 s,
// yet b gives the takeover up as soon as it holds 100 events (its
// window's bound at 20 calls/s), well within that; a takes over again and
// nothing is lost or stored twice.
func TestHAHotTakeoverHoldIsBounded(t *testing.T) {
	const mode = ha.ModeHot
	r := faultmatrix.StartTestRig(t, faultmatrix.RigConfig{TLSInstances: haInstances, LeaderTTL: haTTL, Rate: 20})
	startMemberWith(t, r, "a", member(mode, "a"))
	if got := waitActive(t, r, ""); got != "a" {
		t.Fatalf("member %s active, want a", got)
	}
	mb := member(mode, "b")
	mb.HA.TakeoverTimeout = 30 * time.Second
	mb.HA.Window.MaxEvents = 100
	startMemberWith(t, r, "b", mb)
	waitStandbyInService(t, r, "b")
	instance := memberInstance(r, "b")
	t.Cleanup(failpoint.Enable(bridge.FailpointHotTakeoverStall, instance, func() error { return errors.New("stalled") }))
	testwait.Eventually(t, faultmatrix.WaitBound, "b ready to take over", r.Member("b").ReadyToTakeOver)
	faultmatrix.LetTrafficFlow(time.Second)

	r.Member("a").StepDown()
	// WaitBound (15 s) is half b's takeover timeout: only the bound on
	// what it holds can end its wait in time.
	testwait.Eventually(t, faultmatrix.WaitBound, "b's takeover given up at its hold's bound", func() bool {
		return memberStatus(t, r, "b").Demotions >= 1
	})
	testwait.Eventually(t, 2*faultmatrix.WaitBound, "a active again", func() bool { return r.ActiveMember() == "a" })
	faultmatrix.LetTrafficFlow(time.Second)
	checkHAWith(t, r, mode, 3)
}

// An orderly hot hand-over to a standby whose own CTIManager link failed
// just before (the simulator resets b's connection alone, then a steps
// down at once): b takes over while its provider reconnects, so what it
// recovers from its window ends in its own provider gap (its link loss,
// published with the recovered events) and the gap closes when its new
// link's snapshots are in. Changes that came while b was blind and a had
// already cut its session reached neither member's log: b's gap covers
// them. Nothing outside the gap is lost or stored twice. (Until
// 2026-12-07 the checker counted those changes as lost: it allowed a
// change only one member received inside a gap only before that member's
// session had published anything, not after its last published event,
// here a's after it stepped down; one run in three failed.)
func TestHAHandoverJustAfterTheStandbysLinkFailed(t *testing.T) {
	const mode = ha.ModeHot
	r := startLoadedHotPair(t)

	if _, err := r.Sim.ResetInstance("bridge-b"); err != nil {
		t.Fatal(err)
	}
	r.Member("a").StepDown()
	if got := waitActive(t, r, "a"); got != "b" {
		t.Fatalf("member %s active, want b", got)
	}
	waitStandbyInService(t, r, "b") // its provider back in service, snapshots in
	faultmatrix.LetTrafficFlow(time.Second)
	checkHA(t, r, mode)
}

// The active member stops (SIGTERM) a moment after its only hot standby
// died: the standby's presence key outlives it (the bucket's TTL), so the
// active hands over, keeping its provider and cutting its session — and
// nobody takes the lease. It must not stop like that: what it observed
// after its cut would be in no log and no gap. It waits for a successor
// for a campaign period and a second, takes the lease back, publishes
// what it observed since the cut (recovered) and stops with its provider
// closed, the gap recorded. (Until 2026-12-07 it stopped at once: a
// loaded run of TestHAAbandonedHotTakeover's variant lost 1–63 changes
// so, seven runs in 28 under -race.)
func TestHAActiveStopsRightAfterItsStandbyDied(t *testing.T) {
	const mode = ha.ModeHot
	r := startLoadedHotPair(t)
	ctx, js, _, _ := waitPresence(t, r, "b")
	r.KillMember("b")
	rep, c := checkHAWith(t, r, mode, 2) // stops a
	if rep.ProviderGaps == 0 {
		t.Fatalf("a stopped with nobody to take over and recorded no gap:\n%s", rep)
	}
	var acquired []schema.Event
	if err := jetstream.ReadAll(ctx, js, jetstream.DefaultStream, schema.FamilyFilter(r.Cluster().Name, schema.FamilyBridge), func(m natsjs.Msg) error {
		_, ev, err := schema.Decode(m.Headers(), m.Data())
		if err == nil && ev.Name == schema.EvLeaderAcquired {
			acquired = append(acquired, ev)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if c.Count(schema.EvLeaderAcquired) != 2 || len(acquired) != 2 || acquired[1].Data.Bridge.Leader.PreviousInstance != acquired[0].Data.Bridge.Instance ||
		acquired[1].Data.Bridge.Leader.PreviousEnd != ha.ReasonReleased {
		t.Fatalf("want a's tenure and a's own takeover after its hand-over found no successor; got %d LeaderAcquired:\n%s", len(acquired), rep)
	}
}

// The hot standby is cut off from every CTIManager (a firewall between
// its host and the cluster) while the active goes on, and the active then
// stops in order. A standby whose provider is out of service cannot take
// over without a gap, so it withdraws its presence key at once instead of
// letting it run out with the bucket's TTL: the active finds nobody in
// sync and stops like a cold member, its provider closed and the gap
// recorded, and does not hand over its session to a member that cannot
// report what it observes. The standby takes the lease and, once its link
// is back, publishes the state that closes the gap. Every change the
// simulator sent is in the log or inside a gap the log names.
func TestHAStandbyCutOffFromCTIWithdrawsItsPresence(t *testing.T) {
	const mode = ha.ModeHot
	r := startLoadedHotPair(t)
	ctx, _, kv, key := waitPresence(t, r, "b")
	r.Sim.CutInstance("bridge-b")
	// Withdrawn, not expired: the key's last revision is b's delete, which
	// a key running out with the bucket's TTL would not leave.
	testwait.Eventually(t, faultmatrix.WaitBound, "b's presence key deleted by b", func() bool {
		if _, err := kv.Get(ctx, key); err == nil {
			return false
		}
		h, err := kv.History(ctx, key)
		return err == nil && len(h) > 0 && h[len(h)-1].Operation() == natsjs.KeyValueDelete
	})
	if err := r.StopMember("a"); err != nil {
		t.Fatal(err)
	}
	faultmatrix.LetTrafficFlow(time.Second) // b holds the lease, out of service
	r.Sim.RestoreInstance("bridge-b")
	if got := waitActive(t, r, "a"); got != "b" {
		t.Fatalf("member %s active, want b", got)
	}
	faultmatrix.LetTrafficFlow(time.Second)
	rep, c := checkHA(t, r, mode)
	if rep.ProviderGaps == 0 {
		t.Fatalf("a stopped with its only standby out of service and recorded no gap:\n%s", rep)
	}
	if n := c.Count(schema.EvLeaderAcquired); n != 2 {
		t.Fatalf("%d tenures, want a's and b's (a must not have taken its own lease back after a hand-over nobody could take):\n%s", n, rep)
	}
}

// waitPresence waits until hot standby name's presence key is written and
// returns what a test reads it with: a context bounded for the test, the
// stream's JetStream, the lease bucket and the key.
func waitPresence(t *testing.T, r *faultmatrix.Rig, name string) (context.Context, natsjs.JetStream, natsjs.KeyValue, string) {
	t.Helper()
	js, err := natsjs.New(r.Conn)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*faultmatrix.WaitBound)
	t.Cleanup(cancel)
	kv, err := js.KeyValue(ctx, jetstream.DefaultLeaderBucket)
	if err != nil {
		t.Fatal(err)
	}
	key := ha.StandbyKey(r.Cluster().Name, memberInstance(r, name))
	testwait.Eventually(t, faultmatrix.WaitBound, name+"'s presence key (in sync)", func() bool {
		_, err := kv.Get(ctx, key)
		return err == nil
	})
	return ctx, js, kv, key
}

// memberInstance is a member's engine instance name, as its /status says.
func memberInstance(r *faultmatrix.Rig, name string) string {
	st, _ := r.Member(name).Status().(map[string]any)
	instance, _ := st["instance"].(string)
	return instance
}

// startLoadedHotPair starts a hot group at 20 calls/s (some hundred events
// a second, so that a takeover has changes to recover): a active, b a
// standby ready to take over, the traffic flowing for a second.
func startLoadedHotPair(t *testing.T) *faultmatrix.Rig {
	t.Helper()
	r := faultmatrix.StartTestRig(t, faultmatrix.RigConfig{TLSInstances: haInstances, LeaderTTL: haTTL, Rate: 20})
	startPair(t, r, ha.ModeHot)
	testwait.Eventually(t, faultmatrix.WaitBound, "b ready to take over", r.Member("b").ReadyToTakeOver)
	faultmatrix.LetTrafficFlow(time.Second)
	return r
}
