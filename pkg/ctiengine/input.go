package ctiengine

import (
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
)

// Input is one thing that happens to the machine: the closed set of types
// below, and nothing else. Step is the machine's only entry point; the
// named methods (Start, LinkUp, MessageSeq, …) are thin wrappers that build
// an Input.
type Input interface {
	// input seals the set: only this package's types are inputs.
	input()
}

// Start begins connecting to the first CTIManager.
type Start struct{}

// LinkEstablished: the connection for Link is up (TCP, and TLS when
// configured).
type LinkEstablished struct{ Link LinkID }

// LinkFailed: connecting Link failed (refused, timed out, TLS handshake or
// server trust failure).
type LinkFailed struct {
	Link LinkID
	Err  error
}

// LinkDown: the established connection for Link broke (read or write
// error, EOF, fatal framing error).
type LinkDown struct {
	Link LinkID
	Err  error
}

// FrameIn is one decoded frame received on Link. Seq is the frame header's
// sequence: every event derived from the frame carries it as provenance
// (Event.Frame "<providerId>:<seq>"); zero means unknown.
type FrameIn struct {
	Link LinkID
	Seq  uint32
	Msg  ctilink.Message
}

// FrameError: an unusable frame on Link that did not break the stream
// (unknown type, malformed or invalid body).
type FrameError struct {
	Link LinkID
	Err  error
}

// TimerFired: timer ID fired. Stale or early fires are ignored.
type TimerFired struct{ ID TimerID }

// ProbeResult: whether the probed normal CTIManager Node accepted a
// connection.
type ProbeResult struct {
	Node int
	OK   bool
}

// FallbackRequest asks for an orderly fallback off the least-priority
// CTIManager now (CiscoProvider.initiateFallback).
type FallbackRequest struct{}

// ShutdownRequest closes the provider (Engine.Close, a signal).
type ShutdownRequest struct{}

// PassiveMode switches observe-only mode: on, the provider keeps
// registering its route points and CTI ports and reports every event, but
// leaves route requests unanswered for another application to answer (a
// hot standby bridge until it takes over, docs/ha.md: two providers
// answering one route request would race); off, it answers them again.
type PassiveMode struct{ On bool }

// CutSession starts a new event session on the provider's current link:
// the events from now on carry a new session id with every sequence
// restarting at 1, as after a reconnection, though nothing happened on the
// link (Engine.NewEventSession; a hot standby bridge cuts its session when
// it takes over and when it steps down).
type CutSession struct{}

func (Start) input()           {}
func (LinkEstablished) input() {}
func (LinkFailed) input()      {}
func (LinkDown) input()        {}
func (FrameIn) input()         {}
func (FrameError) input()      {}
func (TimerFired) input()      {}
func (ProbeResult) input()     {}
func (FallbackRequest) input() {}
func (ShutdownRequest) input() {}
func (PassiveMode) input()     {}
func (CutSession) input()      {}

// Step applies one input at now and returns what the runner must do. It is
// the machine's only entry point: every rule of the engine is reached
// through it, so a test that feeds inputs and reads outputs (the scripts
// under testdata/) exercises the real thing. An unknown or nil input
// changes nothing.
func (m *Machine) Step(now time.Time, in Input) *Output {
	m.begin()
	switch v := in.(type) {
	case Start:
		m.start(now)
	case LinkEstablished:
		m.linkUp(v.Link, now)
	case LinkFailed:
		m.linkFailed(v.Link, v.Err, now)
	case LinkDown:
		m.linkDown(v.Link, v.Err, now)
	case FrameIn:
		m.frame(v.Link, v.Seq, v.Msg, now)
	case FrameError:
		m.frameError(v.Link, v.Err, now)
	case TimerFired:
		m.timer(v.ID, now)
	case ProbeResult:
		m.probeResult(v.Node, v.OK, now)
	case FallbackRequest:
		if !m.done {
			m.startFallback(now, "fallback requested")
		}
	case ShutdownRequest:
		m.shutdown(now)
	case PassiveMode:
		m.passive = v.On
	case CutSession:
		m.startSession()
	}
	return m.finish()
}

// Start begins connecting to the first CTIManager.
func (m *Machine) Start(now time.Time) *Output { return m.Step(now, Start{}) }

// LinkUp reports that the connection for link is established.
func (m *Machine) LinkUp(link LinkID, now time.Time) *Output {
	return m.Step(now, LinkEstablished{Link: link})
}

// LinkFailed reports that connecting link failed.
func (m *Machine) LinkFailed(link LinkID, err error, now time.Time) *Output {
	return m.Step(now, LinkFailed{Link: link, Err: err})
}

// LinkDown reports that the established connection for link broke.
func (m *Machine) LinkDown(link LinkID, err error, now time.Time) *Output {
	return m.Step(now, LinkDown{Link: link, Err: err})
}

// FrameError reports an unusable frame that did not break the stream.
func (m *Machine) FrameError(link LinkID, err error, now time.Time) *Output {
	return m.Step(now, FrameError{Link: link, Err: err})
}

// Message handles one decoded frame received on link, without provenance.
func (m *Machine) Message(link LinkID, msg ctilink.Message, now time.Time) *Output {
	return m.Step(now, FrameIn{Link: link, Msg: msg})
}

// MessageSeq handles one decoded frame whose header carried sequence seq.
func (m *Machine) MessageSeq(link LinkID, seq uint32, msg ctilink.Message, now time.Time) *Output {
	return m.Step(now, FrameIn{Link: link, Seq: seq, Msg: msg})
}

// Timer reports that timer id fired at now.
func (m *Machine) Timer(id TimerID, now time.Time) *Output {
	return m.Step(now, TimerFired{ID: id})
}

// ProbeResult reports whether a probed normal CTIManager accepted a
// connection.
func (m *Machine) ProbeResult(node int, ok bool, now time.Time) *Output {
	return m.Step(now, ProbeResult{Node: node, OK: ok})
}

// InitiateFallback starts an orderly fallback off the least-priority
// CTIManager now. It is ignored unless the provider is on the
// least-priority CTIManager.
func (m *Machine) InitiateFallback(now time.Time) *Output {
	return m.Step(now, FallbackRequest{})
}

// Shutdown closes the provider: an orderly ProviderCloseRequest
// {APPLICATIONREQUEST} when a provider is open (then ProvShutdownEv when
// ProviderClosed arrives, the link drops or CloseTimeout passes), else at
// once.
func (m *Machine) Shutdown(now time.Time) *Output {
	return m.Step(now, ShutdownRequest{})
}

// SetPassive switches observe-only mode (see PassiveMode).
func (m *Machine) SetPassive(on bool, now time.Time) *Output {
	return m.Step(now, PassiveMode{On: on})
}
