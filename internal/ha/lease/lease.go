package lease

import (
	"errors"
	"fmt"
	"time"
)

// Defaults, as fractions of the TTL (see Config).
const (
	DefaultRenewFraction  = 0.4
	DefaultMarginFraction = 0.2
	MinRenewFraction      = 0.3
	MaxRenewFraction      = 0.5
	MinTTL                = time.Second
)

// Config configures a Lease. Zero durations take their defaults.
type Config struct {
	// TTL is the lease store's expiry of a write (the KV bucket's TTL): a
	// holder that stops renewing loses the lease on the server TTL after
	// its last stored write. At least 1 s.
	TTL time.Duration
	// RenewEvery is the pause between renewals, from one renewal's send to
	// the next: 0.3–0.5 × TTL, default 0.4 × TTL.
	RenewEvery time.Duration
	// Margin is taken off sent+TTL to form the deadline: it covers
	// clock-rate differences between this host and the server and the
	// time the holder needs to stop acting (close its provider). Default
	// 0.2 × TTL; RenewEvery + Margin must stay below TTL so that a renewal
	// is always attempted before the deadline.
	Margin time.Duration
	// CampaignEvery is how often a standby tries Create; default RenewEvery.
	CampaignEvery time.Duration
	// RetryEvery is the pause before retrying a renewal whose outcome was
	// unknown; default RenewEvery / 4.
	RetryEvery time.Duration
}

func (c *Config) setDefaults() {
	if c.RenewEvery == 0 {
		c.RenewEvery = time.Duration(float64(c.TTL) * DefaultRenewFraction)
	}
	if c.Margin == 0 {
		c.Margin = time.Duration(float64(c.TTL) * DefaultMarginFraction)
	}
	if c.CampaignEvery == 0 {
		c.CampaignEvery = c.RenewEvery
	}
	if c.RetryEvery == 0 {
		c.RetryEvery = c.RenewEvery / 4
	}
}

// Validate reports every problem with the configuration (after defaults).
func (c *Config) Validate() error {
	var errs []error
	if c.TTL < MinTTL {
		errs = append(errs, fmt.Errorf("lease: TTL %s: use at least %s", c.TTL, MinTTL))
	}
	lo, hi := time.Duration(float64(c.TTL)*MinRenewFraction), time.Duration(float64(c.TTL)*MaxRenewFraction)
	if c.RenewEvery < lo || c.RenewEvery > hi {
		errs = append(errs, fmt.Errorf("lease: RenewEvery %s: use %.1f–%.1f × TTL (%s–%s)", c.RenewEvery, MinRenewFraction, MaxRenewFraction, lo, hi))
	}
	if c.Margin < 0 || c.RenewEvery+c.Margin >= c.TTL {
		errs = append(errs, fmt.Errorf("lease: Margin %s: must be ≥ 0 and RenewEvery + Margin (%s) below TTL %s, or no renewal is tried before the deadline",
			c.Margin, c.RenewEvery+c.Margin, c.TTL))
	}
	if c.CampaignEvery <= 0 || c.RetryEvery <= 0 {
		errs = append(errs, fmt.Errorf("lease: CampaignEvery %s and RetryEvery %s must be positive", c.CampaignEvery, c.RetryEvery))
	}
	return errors.Join(errs...)
}

// Role is what the instance is.
type Role uint8

// Roles.
const (
	Standby Role = iota
	Active
)

func (r Role) String() string {
	if r == Active {
		return "active"
	}
	return "standby"
}

// OpKind is an operation on the lease store.
type OpKind uint8

// Operations.
const (
	// OpCreate campaigns: create the key, succeeding only if it is absent.
	OpCreate OpKind = iota + 1
	// OpUpdate renews: write the key if its revision is still Op.Revision.
	OpUpdate
	// OpRelease gives the lease up: delete the key if its revision is
	// still Op.Revision.
	OpRelease
)

func (k OpKind) String() string {
	switch k {
	case OpCreate:
		return "create"
	case OpUpdate:
		return "update"
	case OpRelease:
		return "release"
	}
	return fmt.Sprintf("OpKind(%d)", k)
}

// Op is one operation the driver must run; it passes the same Op back to
// Done with the result.
type Op struct {
	Kind OpKind
	// Revision is the revision the key must still have (Update, Release).
	Revision uint64
	// SentAt is when the operation was handed out (its send time).
	SentAt time.Time
	id     uint64
}

// Outcome classifies an operation's result.
type Outcome uint8

// Outcomes.
const (
	// Stored: the write was stored; Result.Revision is its revision.
	Stored Outcome = iota + 1
	// Conflict: the key exists (Create) or has another revision (Update,
	// Release): someone else holds the lease.
	Conflict
	// Unknown: an error that does not tell whether the write was stored
	// (timeout, disconnection, no responders).
	Unknown
)

// Result is what the lease store answered.
type Result struct {
	Outcome  Outcome
	Revision uint64
	Err      error
}

// Reason says why an active instance stopped being active.
type Reason string

// Reasons for losing the lease.
const (
	// ReasonExpired: the deadline passed without a successful renewal
	// (lease store unreachable, renewals failing, or the process was
	// paused past it).
	ReasonExpired Reason = "expired"
	// ReasonTaken: a renewal found another revision: the lease expired on
	// the server and another instance holds it.
	ReasonTaken Reason = "taken"
	// ReasonFenced: the event log refused a publish because a newer epoch
	// wrote its marker (see internal/ha).
	ReasonFenced Reason = "fenced"
	// ReasonReleased: given up on request (shutdown, step-down).
	ReasonReleased Reason = "released"
)

// ChangeKind is a change of role.
type ChangeKind uint8

// Changes.
const (
	NoChange ChangeKind = iota
	Acquired
	Lost
)

// Change reports a change of role.
type Change struct {
	Kind ChangeKind
	// Epoch is the revision of the Create that acquired the lease: it
	// grows with every acquisition, whoever acquires.
	Epoch uint64
	// Reason is why the lease was lost (Lost).
	Reason Reason
	// Deadline is the end of the right to act (Acquired).
	Deadline time.Time
	// Err is the last store error, if any, when the lease expired.
	Err error
}

// Stats counts what the lease did.
type Stats struct {
	Campaigns, Acquisitions, Renewals, RenewFailures, Losses uint64
}

// Lease is the lease state machine of one instance.
type Lease struct {
	cfg      Config
	role     Role
	campaign bool
	epoch    uint64
	rev      uint64
	deadline time.Time
	// nextAt is when the next Create (standby, campaigning) or Update
	// (active) is due; zero: at once.
	nextAt    time.Time
	pending   *Op
	opSeq     uint64
	releasing bool // a release is owed once nothing is pending
	lastErr   error
	stats     Stats
}

// New validates cfg and returns a standby lease that does not campaign yet.
func New(cfg Config) (*Lease, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Lease{cfg: cfg}, nil
}

// Config returns the configuration with its defaults.
func (l *Lease) Config() Config { return l.cfg }

// Role is the current role.
func (l *Lease) Role() Role { return l.role }

// Epoch is the epoch of the current (or last) tenure, 0 if never active.
func (l *Lease) Epoch() uint64 { return l.epoch }

// Revision is the revision of the last successful write of this tenure.
func (l *Lease) Revision() uint64 { return l.rev }

// Deadline is the end of the right to act (zero unless active).
func (l *Lease) Deadline() time.Time {
	if l.role != Active {
		return time.Time{}
	}
	return l.deadline
}

// Stats returns the counters.
func (l *Lease) Stats() Stats { return l.stats }

// LastError is the last error the store returned (nil after a success).
func (l *Lease) LastError() error { return l.lastErr }

// MayAct reports whether the instance may act as the active one at now:
// active and before its deadline.
func (l *Lease) MayAct(now time.Time) bool {
	return l.role == Active && now.Before(l.deadline)
}

// SetCampaign turns campaigning on or off. A standby that campaigns tries
// Create at once, then every CampaignEvery while the key exists.
func (l *Lease) SetCampaign(on bool, now time.Time) {
	if on && !l.campaign && l.role == Standby && !l.releasing {
		l.nextAt = now
	}
	l.campaign = on && !l.releasing
}

// Campaigning reports whether a standby tries to acquire the lease.
func (l *Lease) Campaigning() bool { return l.campaign }

// Next returns the operation due at now, if any. At most one operation is
// outstanding: the next comes once Done has been told the result.
func (l *Lease) Next(now time.Time) (Op, bool) {
	if l.pending != nil {
		return Op{}, false
	}
	var op Op
	switch {
	case l.releasing:
		l.releasing = false
		op = Op{Kind: OpRelease, Revision: l.rev}
	case l.role == Active && !now.Before(l.nextAt):
		op = Op{Kind: OpUpdate, Revision: l.rev}
	case l.role == Standby && l.campaign && !now.Before(l.nextAt):
		op = Op{Kind: OpCreate}
		l.stats.Campaigns++
	default:
		return Op{}, false
	}
	l.opSeq++
	op.id, op.SentAt = l.opSeq, now
	l.pending = &op
	return op, true
}

// Done takes the result of op at now and reports the change it makes.
func (l *Lease) Done(op Op, res Result, now time.Time) Change {
	if l.pending == nil || l.pending.id != op.id {
		return Change{}
	}
	l.pending = nil
	if res.Outcome == Stored {
		l.lastErr = nil
	} else if res.Err != nil {
		l.lastErr = res.Err
	}
	switch op.Kind {
	case OpCreate:
		return l.created(op, res, now)
	case OpUpdate:
		return l.updated(op, res, now)
	}
	return Change{} // release: the role changed when it was asked for
}

func (l *Lease) created(op Op, res Result, now time.Time) Change {
	l.nextAt = now.Add(l.cfg.CampaignEvery)
	if res.Outcome != Stored || l.role == Active {
		return Change{}
	}
	deadline := op.SentAt.Add(l.cfg.TTL - l.cfg.Margin)
	if !now.Before(deadline) || !l.campaign {
		// The answer came too late to act on, or campaigning was turned
		// off meanwhile: the key is ours on the server, so give it back
		// rather than make everyone wait for its expiry.
		l.rev = res.Revision
		l.releasing = true
		return Change{}
	}
	l.role = Active
	l.epoch, l.rev, l.deadline = res.Revision, res.Revision, deadline
	l.nextAt = op.SentAt.Add(l.cfg.RenewEvery)
	l.stats.Acquisitions++
	return Change{Kind: Acquired, Epoch: l.epoch, Deadline: deadline}
}

func (l *Lease) updated(op Op, res Result, now time.Time) Change {
	if l.role != Active || op.Revision != l.rev {
		// A late answer for a tenure already over: nothing to act on.
		if res.Outcome == Stored && l.releasing {
			l.rev = res.Revision
		}
		return Change{}
	}
	switch res.Outcome {
	case Stored:
		l.rev = res.Revision
		if d := op.SentAt.Add(l.cfg.TTL - l.cfg.Margin); d.After(l.deadline) {
			l.deadline = d
		}
		l.nextAt = op.SentAt.Add(l.cfg.RenewEvery)
		l.stats.Renewals++
		return l.Tick(now)
	case Conflict:
		l.stats.RenewFailures++
		return l.lose(ReasonTaken, now)
	default:
		l.stats.RenewFailures++
		l.nextAt = now.Add(l.cfg.RetryEvery)
		return l.Tick(now)
	}
}

// Tick checks the deadline at now: past it, an active instance loses the
// lease (ReasonExpired). Call it whenever Wake says, and before acting.
func (l *Lease) Tick(now time.Time) Change {
	if l.role == Active && !now.Before(l.deadline) {
		return l.lose(ReasonExpired, now)
	}
	return Change{}
}

// Fenced reports that the event log refused a publish of this epoch: the
// instance is no longer active (ReasonFenced).
func (l *Lease) Fenced(epoch uint64, now time.Time) Change {
	if l.role != Active || epoch != l.epoch {
		return Change{}
	}
	return l.lose(ReasonFenced, now)
}

// Release gives the lease up (shutdown, step-down): the instance stops
// being active at once, stops campaigning, and Next hands out the delete
// of the key at its last revision once no operation is outstanding.
func (l *Lease) Release(now time.Time) Change {
	l.campaign = false
	if l.role != Active {
		return Change{}
	}
	l.releasing = true
	return l.lose(ReasonReleased, now)
}

func (l *Lease) lose(r Reason, now time.Time) Change {
	c := Change{Kind: Lost, Epoch: l.epoch, Reason: r}
	if r == ReasonExpired {
		c.Err = l.lastErr
	}
	l.role = Standby
	l.deadline = time.Time{}
	l.nextAt = now.Add(l.cfg.CampaignEvery)
	l.stats.Losses++
	return c
}

// Wake is when the lease must next be looked at (Next and Tick): the next
// due operation or the deadline, whichever is first; zero when nothing is
// scheduled (standby not campaigning, or an operation outstanding and no
// deadline to watch).
func (l *Lease) Wake(now time.Time) time.Time {
	var at time.Time
	if l.pending == nil && (l.releasing || l.role == Active || l.campaign) {
		at = l.nextAt
		if l.releasing || at.Before(now) {
			at = now
		}
	}
	if l.role == Active && (at.IsZero() || l.deadline.Before(at)) {
		at = l.deadline
	}
	return at
}
