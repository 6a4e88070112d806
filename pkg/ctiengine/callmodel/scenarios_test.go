package callmodel

import (
	"github.com/ctibridge/ctibridge/pkg/ctilink"
)

// The wire sequences of the common brief ("Wire line-state sequences"),
// built with the same parties as the simulator uses them. Their expected
// JTAPI sequences are scripts under ../testdata/scripts (TestScripts runs
// them through the engine); the tests here use the wire sequences for the
// model's properties (determinism, robustness, data fields).

type scenario struct {
	name string
	cfg  Config
	msgs func(*wire) []ctilink.Message
}

var scenarios = []scenario{
	{"basic/A-only", controlled(lnA), basicCall},
	{"basic/B-only", controlled(lnB), basicCall},
	// B is in the control list but its line is not observed: its events
	// never come, A's observer sees it synthesized from RINGBACK on.
	{"basic/B-controlled-not-observed", controlled(lnA, lnB), only(lnA, basicCall)},
	{"basic/B-hangs-up-first", controlled(lnA, lnB), bHangsUpFirst},
	{"no-answer", controlled(lnA, lnB), noAnswer},
	{"busy", controlled(lnA, lnB), busy},
	{"busy/A-only", controlled(lnA), busy},
	{"hold-resume", controlled(lnA, lnB), holdResume},
	{"consult-transfer", controlled(lnA, lnB, lnC), consultTransfer},
	{"consult-transfer/A-only", controlled(lnA), consultTransfer},
	{"consult-transfer/C-uncontrolled", controlled(lnA, lnB), consultTransfer},
	{"consult-transfer/C-only", controlled(lnC), consultTransfer},
	{"blind-transfer", controlled(lnA, lnB, lnC), blindTransfer},
	{"conference", controlled(lnA, lnB, lnC), conference},
	{"route-redirect", controlled(lnA, lnR, lnD), routeRedirect},
	{"route-redirect/R-only", controlled(lnR), routeRedirect},
	{"route-timeout", controlled(lnA, lnR), routeTimeout},
	{"cti-port", controlled(lnA, lnP), ctiPort},
	{"transformation", controlled(lnA, lnB), transformation},
	{"transformation/B-only", controlled(lnB), transformation},
	{"callmanager-failure-in-setup", controlled(lnA, lnB), nodeFailureInSetup},
}

// only keeps the call-state events of line l.
func only(l line, f func(*wire) []ctilink.Message) func(*wire) []ctilink.Message {
	return func(w *wire) []ctilink.Message {
		return deliver(controlled(l), f(w))
	}
}

// basicCall is the wire sequence of a basic call A→B, answered, A hangs up
// (common brief, "Wire line-state sequences").
func basicCall(w *wire) []ctilink.Message {
	a := leg{call: 1, ln: lnA, origin: true, calling: lnA}
	aC := a
	aC.called = lnB
	b := leg{call: 1, ln: lnB, calling: lnA, called: lnB}
	return []ctilink.Message{
		w.st(a, ctilink.CallStateDialTone, 0),
		w.st(aC, ctilink.CallStateDialing, 0),
		w.st(aC, ctilink.CallStateProceeding, 0),
		w.st(b, ctilink.CallStateOffering, 0),
		w.st(b, ctilink.CallStateAccepted, 0),
		w.st(aC, ctilink.CallStateRingback, 0),
		w.st(b, ctilink.CallStateConnected, 0),
		w.st(aC, ctilink.CallStateConnected, 0),
		w.st(aC, ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing),
		w.st(b, ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing),
	}
}

// setup returns A's legs (before and after dialing) and B's leg of a call
// from a to b.
func setup(call uint32, a, b line) (aDial, aCalled, bLeg leg) {
	aDial = leg{call: call, ln: a, origin: true, calling: a}
	aCalled = aDial
	aCalled.called = b
	bLeg = leg{call: call, ln: b, calling: a, called: b}
	return
}

// connect is the wire sequence of a→b up to both CONNECTED.
func connect(w *wire, call uint32, a, b line) []ctilink.Message {
	ad, ac, bl := setup(call, a, b)
	return []ctilink.Message{
		w.st(ad, ctilink.CallStateDialTone, 0),
		w.st(ac, ctilink.CallStateDialing, 0),
		w.st(ac, ctilink.CallStateProceeding, 0),
		w.st(bl, ctilink.CallStateOffering, 0),
		w.st(bl, ctilink.CallStateAccepted, 0),
		w.st(ac, ctilink.CallStateRingback, 0),
		w.st(bl, ctilink.CallStateConnected, 0),
		w.st(ac, ctilink.CallStateConnected, 0),
	}
}

func bHangsUpFirst(w *wire) []ctilink.Message {
	_, ac, bl := setup(1, lnA, lnB)
	return append(connect(w, 1, lnA, lnB),
		w.st(bl, ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing),
		w.st(ac, ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing))
}

func noAnswer(w *wire) []ctilink.Message {
	ad, ac, bl := setup(1, lnA, lnB)
	return []ctilink.Message{
		w.st(ad, ctilink.CallStateDialTone, 0),
		w.st(ac, ctilink.CallStateDialing, 0),
		w.st(ac, ctilink.CallStateProceeding, 0),
		w.st(bl, ctilink.CallStateOffering, 0),
		w.st(bl, ctilink.CallStateAccepted, 0),
		w.st(ac, ctilink.CallStateRingback, 0),
		w.st(ac, ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing),
		w.st(bl, ctilink.CallStateDisconnected, ctilink.CauseNoAnswerFromUser),
	}
}

func busy(w *wire) []ctilink.Message {
	ad, ac, _ := setup(1, lnA, lnB)
	return []ctilink.Message{
		w.st(ad, ctilink.CallStateDialTone, 0),
		w.st(ac, ctilink.CallStateDialing, 0),
		w.st(ac, ctilink.CallStateProceeding, 0),
		w.st(ac, ctilink.CallStateBusy, ctilink.CauseUserBusy),
		w.st(ac, ctilink.CallStateDisconnected, ctilink.CauseUserBusy),
	}
}

func holdResume(w *wire) []ctilink.Message {
	_, ac, bl := setup(1, lnA, lnB)
	return append(connect(w, 1, lnA, lnB),
		w.st(ac, ctilink.CallStateOnHold, 0),
		w.st(ac, ctilink.CallStateConnected, 0),
		w.st(ac, ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing),
		w.st(bl, ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing))
}

// transferLegs are the legs of "B transfers A to C": call 1 is A→B, call
// 2 is B's consult call to C.
type transferLegs struct {
	a1, b1, b2, c2, a1After, c1After leg
}

func newTransferLegs() transferLegs {
	var l transferLegs
	_, l.a1, l.b1 = setup(1, lnA, lnB)
	_, l.b2, l.c2 = setup(2, lnB, lnC)
	l.a1After = l.a1
	l.a1After.curCalled = lnC
	l.c1After = leg{call: 1, ln: lnC, calling: lnA, called: lnB, curCalling: lnA, curCalled: lnC, reason: ctilink.ReasonTransferredCall}
	return l
}

// consultUpTo is call 1 connected, B holds it, and B's consult call to C
// up to C ringing (answered too when answered is set).
func consultUpTo(w *wire, l transferLegs, answered bool) []ctilink.Message {
	msgs := connect(w, 1, lnA, lnB)
	bd := l.b2
	bd.called = line{}
	msgs = append(msgs,
		w.st(l.b1, ctilink.CallStateOnHold, 0),
		w.st(bd, ctilink.CallStateDialTone, 0),
		w.st(l.b2, ctilink.CallStateDialing, 0),
		w.st(l.b2, ctilink.CallStateProceeding, 0),
		w.st(l.c2, ctilink.CallStateOffering, 0),
		w.st(l.c2, ctilink.CallStateAccepted, 0),
		w.st(l.b2, ctilink.CallStateRingback, 0))
	if answered {
		msgs = append(msgs,
			w.st(l.c2, ctilink.CallStateConnected, 0),
			w.st(l.b2, ctilink.CallStateConnected, 0))
	}
	return msgs
}

func feature(w *wire, f string, started, blind bool) ctilink.FeatureEvent {
	ev := ctilink.FeatureEvent{Feature: f, Started: started, Device: lnB.dev, Line: lnB.dn,
		PrimaryCallID: 1, ConsultCallID: 2, Blind: blind, TimeNs: w.tick(),
		Parties: []ctilink.Party{lnA.party(), lnB.party(), lnC.party()}}
	if !started {
		ev.ResultCallID = 1
	}
	return ev
}

func callChangedC(w *wire) ctilink.CallChangedEvent {
	return ctilink.CallChangedEvent{Device: lnC.dev, Line: lnC.dn, OriginalCallID: 2, SurvivingCall: 1, CallHandle: 299, TimeNs: w.tick()}
}

func consultTransfer(w *wire) []ctilink.Message {
	l := newTransferLegs()
	return append(consultUpTo(w, l, true),
		feature(w, ctilink.FeatureTransfer, true, false),
		w.st(l.b1, ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing),
		callChangedC(w),
		w.st(l.b2, ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing),
		w.st(l.a1After, ctilink.CallStateConnected, 0),
		w.st(l.c1After, ctilink.CallStateConnected, 0),
		feature(w, ctilink.FeatureTransfer, false, false),
		w.st(l.c1After, ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing),
		w.st(l.a1After, ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing))
}

func blindTransfer(w *wire) []ctilink.Message {
	l := newTransferLegs()
	return append(consultUpTo(w, l, false),
		feature(w, ctilink.FeatureTransfer, true, true),
		w.st(l.b1, ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing),
		callChangedC(w),
		w.st(l.b2, ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing),
		w.st(l.a1After, ctilink.CallStateRingback, 0),
		w.st(l.c1After, ctilink.CallStateAccepted, 0),
		feature(w, ctilink.FeatureTransfer, false, true),
		w.st(l.c1After, ctilink.CallStateConnected, 0),
		w.st(l.a1After, ctilink.CallStateConnected, 0),
		w.st(l.a1After, ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing),
		w.st(l.c1After, ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing))
}

func conference(w *wire) []ctilink.Message {
	l := newTransferLegs()
	c1 := leg{call: 1, ln: lnC, calling: lnB, called: lnC}
	return append(consultUpTo(w, l, true),
		feature(w, ctilink.FeatureConference, true, false),
		w.st(l.b1, ctilink.CallStateConnected, 0),
		callChangedC(w),
		w.st(l.b2, ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing),
		w.st(l.a1, ctilink.CallStateConnected, 0),
		w.st(c1, ctilink.CallStateConnected, 0),
		feature(w, ctilink.FeatureConference, false, false),
		// Parties leave one by one; with fewer than two left the call ends.
		w.st(l.a1, ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing),
		w.st(c1, ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing),
		w.st(l.b1, ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing))
}

func route(w *wire, kind string, selected string, cause int) ctilink.RouteEvent {
	return ctilink.RouteEvent{Kind: kind, Device: lnR.dev, Line: lnR.dn, SessionID: 7, GlobalCallID: 1,
		CallHandle: 150, Calling: lnA.party(), Called: lnR.party(), Selected: selected, Cause: cause, TimeNs: w.tick()}
}

func routeRedirect(w *wire) []ctilink.Message {
	ad, ac, rl := setup(1, lnA, lnR)
	dl := leg{call: 1, ln: lnD, calling: lnA, called: lnR, curCalled: lnD, lastRedirecting: lnR, reason: ctilink.ReasonRedirect}
	acD := ac
	acD.curCalled, acD.lastRedirecting = lnD, lnR
	return []ctilink.Message{
		w.st(ad, ctilink.CallStateDialTone, 0),
		w.st(ac, ctilink.CallStateDialing, 0),
		w.st(ac, ctilink.CallStateProceeding, 0),
		w.st(rl, ctilink.CallStateOffering, 0),
		route(w, ctilink.RouteKindRoute, "", 0),
		route(w, ctilink.RouteKindUsed, lnD.dn, 0),
		w.st(rl, ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing),
		w.st(dl, ctilink.CallStateOffering, 0),
		w.st(dl, ctilink.CallStateAccepted, 0),
		w.st(acD, ctilink.CallStateRingback, 0),
		route(w, ctilink.RouteKindEnd, "", 100),
		w.st(dl, ctilink.CallStateConnected, 0),
		w.st(acD, ctilink.CallStateConnected, 0),
		w.st(acD, ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing),
		w.st(dl, ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing),
	}
}

func routeTimeout(w *wire) []ctilink.Message {
	ad, ac, rl := setup(1, lnA, lnR)
	return []ctilink.Message{
		w.st(ad, ctilink.CallStateDialTone, 0),
		w.st(ac, ctilink.CallStateDialing, 0),
		w.st(ac, ctilink.CallStateProceeding, 0),
		w.st(rl, ctilink.CallStateOffering, 0),
		route(w, ctilink.RouteKindRoute, "", 0),
		route(w, ctilink.RouteKindEnd, "", 101),
		w.st(rl, ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing),
		w.st(ac, ctilink.CallStateBusy, ctilink.CauseUserBusy),
		w.st(ac, ctilink.CallStateDisconnected, ctilink.CauseUserBusy),
	}
}

func media(w *wire, kind, ip string, port int) ctilink.MediaEvent {
	return ctilink.MediaEvent{Kind: kind, Device: lnP.dev, Line: lnP.dn, GlobalCallID: 1, CallHandle: 160,
		IP: ip, Port: port, Codec: "G711U", PacketMs: 20, TimeNs: w.tick()}
}

func ctiPort(w *wire) []ctilink.Message {
	ad, ac, pl := setup(1, lnA, lnP)
	return []ctilink.Message{
		w.st(ad, ctilink.CallStateDialTone, 0),
		w.st(ac, ctilink.CallStateDialing, 0),
		w.st(ac, ctilink.CallStateProceeding, 0),
		w.st(pl, ctilink.CallStateOffering, 0),
		w.st(pl, ctilink.CallStateAccepted, 0),
		w.st(ac, ctilink.CallStateRingback, 0),
		media(w, ctilink.MediaOpenLogicalChannel, "", 0),
		w.st(pl, ctilink.CallStateConnected, 0),
		w.st(ac, ctilink.CallStateConnected, 0),
		media(w, ctilink.MediaRTPOutputStarted, "10.0.0.1", 20000),
		media(w, ctilink.MediaRTPInputStarted, "10.0.9.9", 30000),
		media(w, ctilink.MediaRTPOutputStopped, "", 0),
		media(w, ctilink.MediaRTPInputStopped, "", 0),
		w.st(pl, ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing),
		w.st(ac, ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing),
	}
}

func callParty(w *wire, added bool) ctilink.CallPartyEvent {
	return ctilink.CallPartyEvent{Device: lnA.dev, Line: lnA.dn, GlobalCallID: 1, Party: lnY.party(),
		Added: added, Transient: true, TimeNs: w.tick()}
}

func transformation(w *wire) []ctilink.Message {
	ad, ac, bl := setup(1, lnA, lnB)
	acY := ac
	acY.curCalling = lnY
	bl.curCalling = lnY
	return []ctilink.Message{
		w.st(ad, ctilink.CallStateDialTone, 0),
		w.st(ac, ctilink.CallStateDialing, 0),
		w.st(acY, ctilink.CallStateProceeding, 0),
		callParty(w, true),
		w.st(bl, ctilink.CallStateOffering, 0),
		w.st(bl, ctilink.CallStateAccepted, 0),
		w.st(acY, ctilink.CallStateRingback, 0),
		callParty(w, false),
		w.st(bl, ctilink.CallStateConnected, 0),
		w.st(acY, ctilink.CallStateConnected, 0),
		w.st(acY, ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing),
		w.st(bl, ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing),
	}
}

// nodeFailureInSetup: A's CallManager node fails while B is ringing; the
// call in setup is dropped with TEMPORARYFAILURE on both lines.
func nodeFailureInSetup(w *wire) []ctilink.Message {
	ad, ac, bl := setup(1, lnA, lnB)
	return []ctilink.Message{
		w.st(ad, ctilink.CallStateDialTone, 0),
		w.st(ac, ctilink.CallStateDialing, 0),
		w.st(ac, ctilink.CallStateProceeding, 0),
		w.st(bl, ctilink.CallStateOffering, 0),
		w.st(bl, ctilink.CallStateAccepted, 0),
		w.st(ac, ctilink.CallStateRingback, 0),
		w.st(ac, ctilink.CallStateDisconnected, ctilink.CauseTemporaryFailure),
		w.st(bl, ctilink.CallStateDisconnected, ctilink.CauseTemporaryFailure),
	}
}
