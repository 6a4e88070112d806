package ctiengine

import (
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/schema"
	"github.com/rs/zerolog"
)

// LinkID identifies one connection attempt. Inputs naming a superseded link
// are ignored, so a late frame or error from an old connection can never
// disturb the current one.
type LinkID uint64

// DialRequest asks the runner to connect to a CTIManager and report
// LinkUp or LinkFailed for Link.
type DialRequest struct {
	Link       LinkID
	Node       int
	CTIManager string
	Addr       string
	TLS        bool
}

// ProbeRequest asks the runner to check whether a CTIManager accepts
// connections (a TCP connect, closed at once; no provider is opened, so a
// probe never counts against the client certificate) and report
// ProbeResult.
type ProbeRequest struct {
	Node       int
	CTIManager string
	Addr       string
}

// TimerOp arms timer ID to fire at At, replacing any earlier deadline; a
// zero At cancels it.
type TimerOp struct {
	ID TimerID
	At time.Time
}

// Transition records a state change, for logging.
type Transition struct {
	// Kind is "provider" or "link".
	Kind       string
	From, To   string
	Reason     string
	CTIManager string
}

// Note is something the runner should log.
type Note struct {
	Level      zerolog.Level
	Msg        string
	CTIManager string
	Err        error
}

// MeasureKind names what a Measurement timed.
type MeasureKind int

const (
	// MeasureProviderOpen: from the connect to a CTIManager to the
	// provider in service on it (ProvInServiceEv: opened, device list
	// known, devices opened).
	MeasureProviderOpen MeasureKind = iota + 1
	// MeasureRouteSelect: from a route request's arrival to CTIManager's
	// answer to the selectRoute that answered it (to be compared with
	// RouteSelectTimeout).
	MeasureRouteSelect
)

// Measurement is one duration the machine timed, for the runner's metrics.
type Measurement struct {
	Kind     MeasureKind
	Duration time.Duration
}

// Output is what one machine step asks the runner to do, in this order:
// write Send on SendLink (one batch), close Hangup, start Dial, start
// Probes, apply Timers, hand Events to the Sink, log Transitions and Notes,
// report Measurements.
// Done means the machine has stopped for good; Err is why, nil after an
// orderly Close.
//
// An Output and its slices belong to the machine and are valid only until
// its next step.
type Output struct {
	SendLink     LinkID
	Send         []ctilink.Message
	Hangup       LinkID
	Dial         *DialRequest
	Probes       []ProbeRequest
	Timers       []TimerOp
	Events       []schema.Event
	Transitions  []Transition
	Notes        []Note
	Measurements []Measurement
	Done         bool
	Err          error
}

// maxRetained bounds the capacity an Output keeps between steps: a
// failover can produce tens of thousands of events in one step, and that
// buffer should not stay allocated for the rest of the session.
const maxRetained = 4096

func (o *Output) reset() {
	o.SendLink = 0
	clear(o.Send)
	o.Send = o.Send[:0]
	if cap(o.Send) > maxRetained {
		o.Send = nil
	}
	if cap(o.Events) > maxRetained {
		o.Events = nil
	}
	o.Hangup = 0
	o.Dial = nil
	o.Probes = o.Probes[:0]
	o.Timers = o.Timers[:0]
	clear(o.Events)
	o.Events = o.Events[:0]
	o.Transitions = o.Transitions[:0]
	o.Measurements = o.Measurements[:0]
	clear(o.Notes)
	o.Notes = o.Notes[:0]
	o.Err = nil
}

// Empty reports whether the output asks for nothing.
func (o *Output) Empty() bool {
	return len(o.Send) == 0 && o.Hangup == 0 && o.Dial == nil && len(o.Probes) == 0 && len(o.Timers) == 0 &&
		len(o.Events) == 0 && len(o.Transitions) == 0 && len(o.Notes) == 0 && !o.Done
}
