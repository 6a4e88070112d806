package lease

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// The tests drive the lease with explicit instants: t0 plus offsets. A
// 10 s TTL gives the defaults RenewEvery 4 s, Margin 2 s, CampaignEvery 4 s,
// RetryEvery 1 s.

var t0 = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

const s = time.Second

func newLease(t *testing.T) *Lease {
	t.Helper()
	l, err := New(Config{TTL: 10 * s})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// step runs the operation due at now with result res.
func step(t *testing.T, l *Lease, now time.Time, kind OpKind, res Result) Change {
	t.Helper()
	op, ok := l.Next(now)
	if !ok || op.Kind != kind {
		t.Fatalf("at %v: Next = %v %v, want %v", now.Sub(t0), op.Kind, ok, kind)
	}
	return l.Done(op, res, now)
}

func acquire(t *testing.T, l *Lease, now time.Time, rev uint64) Change {
	t.Helper()
	l.SetCampaign(true, now)
	c := step(t, l, now, OpCreate, Result{Outcome: Stored, Revision: rev})
	if c.Kind != Acquired || c.Epoch != rev {
		t.Fatalf("acquire: %+v", c)
	}
	return c
}

func TestDefaults(t *testing.T) {
	l := newLease(t)
	c := l.Config()
	if c.RenewEvery != 4*s || c.Margin != 2*s || c.CampaignEvery != 4*s || c.RetryEvery != s {
		t.Fatalf("defaults for TTL 10s: %+v", c)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{TTL: 500 * time.Millisecond}, "TTL 500ms"},
		{Config{TTL: 10 * s, RenewEvery: 2 * s}, "RenewEvery 2s: use 0.3–0.5 × TTL"},
		{Config{TTL: 10 * s, RenewEvery: 6 * s}, "RenewEvery 6s"},
		{Config{TTL: 10 * s, RenewEvery: 5 * s, Margin: 5 * s}, "Margin 5s"},
	} {
		_, err := New(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

// Campaign: Create at once, then every CampaignEvery while the key
// exists; the Create's revision is the epoch; the deadline counts from
// when the Create was sent, not from when its answer came.
func TestCampaignUntilAcquired(t *testing.T) {
	l := newLease(t)
	if _, ok := l.Next(t0); ok {
		t.Fatal("a lease that does not campaign handed out an operation")
	}
	l.SetCampaign(true, t0)
	if c := step(t, l, t0, OpCreate, Result{Outcome: Conflict}); c.Kind != NoChange {
		t.Fatalf("conflict: %+v", c)
	}
	if _, ok := l.Next(at(3 * s)); ok {
		t.Fatal("campaigned again before CampaignEvery")
	}
	if w := l.Wake(at(s)); !w.Equal(at(4 * s)) {
		t.Fatalf("wake %v, want 4s", w.Sub(t0))
	}
	op, _ := l.Next(at(4 * s))
	c := l.Done(op, Result{Outcome: Stored, Revision: 42}, at(4*s+300*time.Millisecond))
	if c.Kind != Acquired || c.Epoch != 42 || !c.Deadline.Equal(at(12*s)) {
		t.Fatalf("acquired: %+v (deadline %v)", c, c.Deadline.Sub(t0))
	}
	if !l.MayAct(at(11*s)) || l.MayAct(at(12*s)) {
		t.Fatal("MayAct must hold up to sent + TTL - margin, not after")
	}
	if st := l.Stats(); st.Campaigns != 2 || st.Acquisitions != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// Renewal: Update at the last revision every RenewEvery from the previous
// send; each success moves the deadline to its own send + TTL - margin.
func TestRenewMovesTheDeadlineFromTheSendTime(t *testing.T) {
	l := newLease(t)
	acquire(t, l, t0, 7)
	if _, ok := l.Next(at(3 * s)); ok {
		t.Fatal("renewed before RenewEvery")
	}
	op, ok := l.Next(at(4 * s))
	if !ok || op.Kind != OpUpdate || op.Revision != 7 {
		t.Fatalf("renewal %+v %v", op, ok)
	}
	// The answer takes 3 s: the deadline is still counted from the send.
	if c := l.Done(op, Result{Outcome: Stored, Revision: 9}, at(7*s)); c.Kind != NoChange {
		t.Fatalf("renewed: %+v", c)
	}
	if d := l.Deadline(); !d.Equal(at(12 * s)) {
		t.Fatalf("deadline %v, want 12s", d.Sub(t0))
	}
	op, _ = l.Next(at(8 * s))
	if op.Revision != 9 {
		t.Fatalf("next renewal at revision %d, want 9", op.Revision)
	}
}

// Renewals that fail with an unknown outcome are retried every RetryEvery
// until the deadline; at the deadline the lease is lost, whatever is in
// flight, and a late success does not bring it back.
func TestUnknownOutcomesRetryUntilTheDeadline(t *testing.T) {
	l := newLease(t)
	acquire(t, l, t0, 7)
	boom := errors.New("nats: timeout")
	now := at(4 * s)
	for now.Before(at(8 * s)) {
		if c := step(t, l, now, OpUpdate, Result{Outcome: Unknown, Err: boom}); c.Kind != NoChange {
			t.Fatalf("at %v: %+v", now.Sub(t0), c)
		}
		now = now.Add(s)
	}
	op, _ := l.Next(at(8 * s)) // in flight across the deadline
	if w := l.Wake(at(8 * s)); !w.Equal(at(8 * s)) {
		t.Fatalf("wake %v: the deadline must be watched while an operation is out", w.Sub(t0))
	}
	c := l.Tick(at(8 * s))
	if c.Kind != Lost || c.Reason != ReasonExpired || !errors.Is(c.Err, boom) {
		t.Fatalf("at the deadline: %+v", c)
	}
	if c := l.Done(op, Result{Outcome: Stored, Revision: 8}, at(9*s)); c.Kind != NoChange || l.Role() != Standby {
		t.Fatalf("a late success revived the lease: %+v, role %v", c, l.Role())
	}
}

// A process paused (SIGSTOP) past its deadline and resumed: the first
// look at the lease finds the deadline past.
func TestResumedLateFindsTheDeadlinePast(t *testing.T) {
	l := newLease(t)
	acquire(t, l, t0, 7)
	resumed := at(30 * s)
	if l.MayAct(resumed) {
		t.Fatal("MayAct after a 30 s pause")
	}
	if c := l.Tick(resumed); c.Kind != Lost || c.Reason != ReasonExpired {
		t.Fatalf("tick after the pause: %+v", c)
	}
	// It campaigns again after CampaignEvery (the key is someone else's by now).
	if _, ok := l.Next(resumed.Add(3 * s)); ok {
		t.Fatal("campaigned at once after losing the lease")
	}
	if op, ok := l.Next(resumed.Add(4 * s)); !ok || op.Kind != OpCreate {
		t.Fatalf("campaign after the loss: %+v %v", op, ok)
	}
}

// A renewal conflict (the key has another revision) loses the lease at
// once: it expired on the server and someone else holds it.
func TestRenewConflictLosesAtOnce(t *testing.T) {
	l := newLease(t)
	acquire(t, l, t0, 7)
	c := step(t, l, at(4*s), OpUpdate, Result{Outcome: Conflict})
	if c.Kind != Lost || c.Reason != ReasonTaken || c.Epoch != 7 {
		t.Fatalf("conflict: %+v", c)
	}
	if l.MayAct(at(4 * s)) {
		t.Fatal("still acting after a conflict")
	}
}

// The log fence refusing a publish of this epoch ends it; a refusal for
// an older epoch changes nothing.
func TestFenced(t *testing.T) {
	l := newLease(t)
	acquire(t, l, t0, 7)
	if c := l.Fenced(6, at(s)); c.Kind != NoChange {
		t.Fatalf("an older epoch's fence: %+v", c)
	}
	if c := l.Fenced(7, at(s)); c.Kind != Lost || c.Reason != ReasonFenced {
		t.Fatalf("fenced: %+v", c)
	}
}

// Release: inactive at once, no more campaigning, and the delete at the
// last revision waits for the renewal in flight (whose new revision it
// then uses).
func TestReleaseAfterTheRenewalInFlight(t *testing.T) {
	l := newLease(t)
	acquire(t, l, t0, 7)
	upd, _ := l.Next(at(4 * s))
	if c := l.Release(at(4 * s)); c.Kind != Lost || c.Reason != ReasonReleased {
		t.Fatalf("release: %+v", c)
	}
	if _, ok := l.Next(at(4 * s)); ok {
		t.Fatal("the delete went out while the renewal was in flight")
	}
	l.Done(upd, Result{Outcome: Stored, Revision: 8}, at(4*s))
	op, ok := l.Next(at(4 * s))
	if !ok || op.Kind != OpRelease || op.Revision != 8 {
		t.Fatalf("release op %+v %v, want the delete at revision 8", op, ok)
	}
	l.Done(op, Result{Outcome: Stored}, at(4*s))
	if _, ok := l.Next(at(100 * s)); ok || l.Campaigning() {
		t.Fatal("a released lease campaigns again")
	}
}

// A Create answered after its would-be deadline is not acted on; the key
// is given back instead of left to expire.
func TestLateCreateIsGivenBack(t *testing.T) {
	l := newLease(t)
	l.SetCampaign(true, t0)
	op, _ := l.Next(t0)
	if c := l.Done(op, Result{Outcome: Stored, Revision: 3}, at(9*s)); c.Kind != NoChange || l.Role() != Standby {
		t.Fatalf("late create acted on: %+v", c)
	}
	rel, ok := l.Next(at(9 * s))
	if !ok || rel.Kind != OpRelease || rel.Revision != 3 {
		t.Fatalf("the late key was not given back: %+v %v", rel, ok)
	}
}

// A result for an operation that is not the one outstanding is ignored.
func TestStaleResultIgnored(t *testing.T) {
	l := newLease(t)
	l.SetCampaign(true, t0)
	op, _ := l.Next(t0)
	stale := op
	stale.id++
	if c := l.Done(stale, Result{Outcome: Stored, Revision: 1}, t0); c.Kind != NoChange || l.Role() != Standby {
		t.Fatalf("stale result acted on: %+v", c)
	}
}
