package callmodel

import (
	"slices"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/ctisim/traffic"
)

// The dial-plan scenarios are played by the simulator's own call model
// (pkg/ctisim/traffic, scripted with Place and fixed durations) and fed to
// a call model observing the named lines: one test per scenario, each
// citing the page of Cisco's JTAPI guide 15 its sequence follows, so that
// it can move to a script file unchanged.

// dialPlanDir is simDirectory with dial-plan numbers on the first phones.
func dialPlanDir() traffic.Directory {
	d := simDirectory()
	d.Phones[0].DN, d.Phones[1].DN = "+4930123", `\+4930`
	d.Phones[2].DN, d.Phones[3].DN = "*55", "#1"
	return d
}

var scenarioStart = time.Unix(1_700_000_000, 0).UTC()

// playScripted places one call and returns the JTAPI events a session
// controlling the lines dns sees, formatted, after checking the
// invariants. The call runs to its end.
func playScripted(t *testing.T, dir traffic.Directory, sc traffic.Scenario, from, to, third string, dns ...string) []string {
	t.Helper()
	return formatAll(playScriptedOuts(t, dir, sc, from, to, third, dns...))
}

// playScriptedOuts is playScripted returning the events themselves.
func playScriptedOuts(t *testing.T, dir traffic.Directory, sc traffic.Scenario, from, to, third string, dns ...string) []Out {
	t.Helper()
	tm, err := traffic.New(traffic.Config{Seed: 1, Start: scenarioStart, DialTime: time.Second, RingTime: 2 * time.Second,
		TalkTime: 5 * time.Second, HoldTime: 3 * time.Second, NoAnswerTime: 4 * time.Second, BusyTime: time.Second,
		RouteSelectTimeout: 5 * time.Second}, dir, simHooks{})
	if err != nil {
		t.Fatal(err)
	}
	s := newSession("dialplan", dir, func(_ int, l traffic.Line) bool { return slices.Contains(dns, l.DN) })
	if _, err := tm.Place(sc, from, to, third, scenarioStart); err != nil {
		t.Fatalf("Place: %v", err)
	}
	var outs []Out
	drive(t, tm, scenarioStart, 5*time.Minute, func(msg ctilink.Message) {
		if s.receives(msg) {
			o := s.m.Apply(msg)
			s.check(t, o)
			outs = append(outs, o...)
		}
	})
	if tm.ActiveCalls() != 0 || s.m.Stats().Tracked != 0 {
		t.Fatalf("calls left: simulator %d, model %+v", tm.ActiveCalls(), s.m.Stats())
	}
	return outs
}

// connReason returns the CiscoConnection reason the first event of name
// for address addr carries.
func connReason(t *testing.T, outs []Out, name, addr string) string {
	t.Helper()
	for _, o := range outs {
		if cd := o.Data.Call; o.Name == name && cd != nil && cd.Connection != nil && cd.Connection.Address == addr {
			return cd.Connection.Reason
		}
	}
	t.Fatalf("no %s for %s", name, addr)
	return ""
}

// An outbound call through the trunk, observed on the caller: the far end
// is outside the cluster, so the originating connection goes
// NETWORK_REACHED at PROCEEDING and NETWORK_ALERTING at RINGBACK before
// ESTABLISHED, and the far party is synthesized OFFERED, ALERTING,
// ESTABLISHED (JTAPI 1.4 CallControlConnection network states; the
// guide's in-cluster call, JTAPI guide 15 p.1024, goes DIALING →
// ESTABLISHED instead, see TestDialPlan_InternalUnobservedFarEndIsNoNetwork).
// The caller's number is +E.164 with CUCM's escape and stays exact.
func TestDialPlan_OutboundThroughTrunkReachesTheNetwork(t *testing.T) {
	got := playScripted(t, dialPlanDir(), traffic.Outbound, `\+4930`, "+4989555000", "", `\+4930`)
	diff(t, []string{
		"CallActiveEv 1 c100 m128",
		`ConnCreatedEv 1 \+4930 IDLE/IDLE c100 m128`,
		`ConnConnectedEv 1 \+4930 CONNECTED/INITIATED c100 m128`,
		`CallCtlConnInitiatedEv 1 \+4930 CONNECTED/INITIATED c100 m128`,
		`TermConnCreatedEv 1 \+4930@SEP1001 IDLE/IDLE c100 m128`,
		`TermConnActiveEv 1 \+4930@SEP1001 ACTIVE/TALKING c100 m128`,
		`CallCtlTermConnTalkingEv 1 \+4930@SEP1001 ACTIVE/TALKING c100 m128`,
		`CallCtlConnDialingEv 1 \+4930 CONNECTED/DIALING c100 m128`,
		`CallCtlConnNetworkReachedEv 1 \+4930 CONNECTED/NETWORK_REACHED c100 m128`,
		"ConnCreatedEv 1 +4989555000 IDLE/IDLE c100 m128",
		"ConnInProgressEv 1 +4989555000 INPROGRESS/OFFERED c100 m128",
		"CallCtlConnOfferedEv 1 +4989555000 INPROGRESS/OFFERED c100 m128",
		"ConnAlertingEv 1 +4989555000 ALERTING/ALERTING c100 m128",
		"CallCtlConnAlertingEv 1 +4989555000 ALERTING/ALERTING c100 m128",
		`CallCtlConnNetworkAlertingEv 1 \+4930 CONNECTED/NETWORK_ALERTING c100 m128`,
		"ConnConnectedEv 1 +4989555000 CONNECTED/ESTABLISHED c100 m129",
		"CallCtlConnEstablishedEv 1 +4989555000 CONNECTED/ESTABLISHED c100 m129",
		`CallCtlConnEstablishedEv 1 \+4930 CONNECTED/ESTABLISHED c100 m129`,
		`TermConnDroppedEv 1 \+4930@SEP1001 DROPPED/DROPPED c100 m132`,
		`CallCtlTermConnDroppedEv 1 \+4930@SEP1001 DROPPED/DROPPED c100 m132`,
		`ConnDisconnectedEv 1 \+4930 DISCONNECTED/DISCONNECTED c100 m132`,
		`CallCtlConnDisconnectedEv 1 \+4930 DISCONNECTED/DISCONNECTED c100 m132`,
		"ConnDisconnectedEv 1 +4989555000 DISCONNECTED/DISCONNECTED c100 m132",
		"CallCtlConnDisconnectedEv 1 +4989555000 DISCONNECTED/DISCONNECTED c100 m132",
		"CallInvalidEv 1 c100 m132",
		"CallObservationEndedEv 1 c100 m132",
	}, got)
}

// An inbound call from outside to a feature-style number: the external
// caller is created CONNECTED/ESTABLISHED, then the called line is offered
// and rings as for any terminating call (the JTAPI guide's terminating
// order, jtapi-facts §12).
func TestDialPlan_InboundFromOutsideToStarNumber(t *testing.T) {
	got := playScripted(t, dialPlanDir(), traffic.Inbound, "0301234567", "*55", "", "*55")
	diff(t, []string{
		"CallActiveEv 1 c100 m128",
		"ConnCreatedEv 1 0301234567 IDLE/IDLE c100 m128",
		"ConnConnectedEv 1 0301234567 CONNECTED/ESTABLISHED c100 m128",
		"CallCtlConnEstablishedEv 1 0301234567 CONNECTED/ESTABLISHED c100 m128",
		"ConnCreatedEv 1 *55 IDLE/IDLE c100 m128",
		"ConnInProgressEv 1 *55 INPROGRESS/OFFERED c100 m128",
		"CallCtlConnOfferedEv 1 *55 INPROGRESS/OFFERED c100 m128",
		"ConnAlertingEv 1 *55 ALERTING/ALERTING c100 m128",
		"CallCtlConnAlertingEv 1 *55 ALERTING/ALERTING c100 m128",
		"TermConnCreatedEv 1 *55@SEP1002 IDLE/IDLE c100 m128",
		"TermConnRingingEv 1 *55@SEP1002 RINGING/RINGING c100 m128",
		"CallCtlTermConnRingingEv 1 *55@SEP1002 RINGING/RINGING c100 m128",
		"ConnConnectedEv 1 *55 CONNECTED/ESTABLISHED c100 m129",
		"CallCtlConnEstablishedEv 1 *55 CONNECTED/ESTABLISHED c100 m129",
		"TermConnActiveEv 1 *55@SEP1002 ACTIVE/TALKING c100 m129",
		"CallCtlTermConnTalkingEv 1 *55@SEP1002 ACTIVE/TALKING c100 m129",
		"TermConnDroppedEv 1 *55@SEP1002 DROPPED/DROPPED c100 m132",
		"CallCtlTermConnDroppedEv 1 *55@SEP1002 DROPPED/DROPPED c100 m132",
		"ConnDisconnectedEv 1 *55 DISCONNECTED/DISCONNECTED c100 m132",
		"CallCtlConnDisconnectedEv 1 *55 DISCONNECTED/DISCONNECTED c100 m132",
		"ConnDisconnectedEv 1 0301234567 DISCONNECTED/DISCONNECTED c100 m132",
		"CallCtlConnDisconnectedEv 1 0301234567 DISCONNECTED/DISCONNECTED c100 m132",
		"CallInvalidEv 1 c100 m132",
		"CallObservationEndedEv 1 c100 m132",
	}, got)
}

// A call to a line of the cluster that this session does not observe
// (+4930123 calls #1; only +4930123 observed): no network states — the
// originating connection goes DIALING → ESTABLISHED at once, as the
// guide's in-cluster call does (GC1-CallCtlConnDialingEv-A,
// GC1-CallCtlConnEstablishedEv-A, JTAPI guide 15 p.1024); the far party
// is still synthesized from the line's events.
func TestDialPlan_InternalUnobservedFarEndIsNoNetwork(t *testing.T) {
	got := playScripted(t, dialPlanDir(), traffic.Basic, "+4930123", "#1", "", "+4930123")
	diff(t, []string{
		"CallActiveEv 1 c100 m128",
		"ConnCreatedEv 1 +4930123 IDLE/IDLE c100 m128",
		"ConnConnectedEv 1 +4930123 CONNECTED/INITIATED c100 m128",
		"CallCtlConnInitiatedEv 1 +4930123 CONNECTED/INITIATED c100 m128",
		"TermConnCreatedEv 1 +4930123@SEP1000 IDLE/IDLE c100 m128",
		"TermConnActiveEv 1 +4930123@SEP1000 ACTIVE/TALKING c100 m128",
		"CallCtlTermConnTalkingEv 1 +4930123@SEP1000 ACTIVE/TALKING c100 m128",
		"CallCtlConnDialingEv 1 +4930123 CONNECTED/DIALING c100 m128",
		"CallCtlConnEstablishedEv 1 +4930123 CONNECTED/ESTABLISHED c100 m128",
		"ConnCreatedEv 1 #1 IDLE/IDLE c100 m128",
		"ConnInProgressEv 1 #1 INPROGRESS/OFFERED c100 m128",
		"CallCtlConnOfferedEv 1 #1 INPROGRESS/OFFERED c100 m128",
		"ConnAlertingEv 1 #1 ALERTING/ALERTING c100 m128",
		"CallCtlConnAlertingEv 1 #1 ALERTING/ALERTING c100 m128",
		"ConnConnectedEv 1 #1 CONNECTED/ESTABLISHED c100 m129",
		"CallCtlConnEstablishedEv 1 #1 CONNECTED/ESTABLISHED c100 m129",
		"TermConnDroppedEv 1 +4930123@SEP1000 DROPPED/DROPPED c100 m132",
		"CallCtlTermConnDroppedEv 1 +4930123@SEP1000 DROPPED/DROPPED c100 m132",
		"ConnDisconnectedEv 1 +4930123 DISCONNECTED/DISCONNECTED c100 m132",
		"CallCtlConnDisconnectedEv 1 +4930123 DISCONNECTED/DISCONNECTED c100 m132",
		"ConnDisconnectedEv 1 #1 DISCONNECTED/DISCONNECTED c100 m132",
		"CallCtlConnDisconnectedEv 1 #1 DISCONNECTED/DISCONNECTED c100 m132",
		"CallInvalidEv 1 c100 m132",
		"CallObservationEndedEv 1 c100 m132",
	}, got)
}

// Call forward all: A (1010) calls B (1030), which forwards all its calls
// to D (1031). B is never offered the call; D's connection is created
// with the CallCtl cause REDIRECTED and CiscoConnection reason FORWARDALL
// ("C forwardAll to D, D is ringing. JTAPI creates Connection/
// CallControlConnection/TerminalConnection/CallControlTerminalConnection
// for D. CAUSE_CODE provided will be CAUSE_REDIRECT and the reason
// received from CTI would be ForwardAll", JTAPI guide 15 p.1553).
func TestDialPlan_ForwardAll(t *testing.T) {
	outs := playScriptedOuts(t, dialPlanDir(), traffic.ForwardAll, "1010", "1030", "", "1010", "1030", "1031")
	diff(t, []string{
		"CallActiveEv 1 c100 m128",
		"ConnCreatedEv 1 1010 IDLE/IDLE c100 m128",
		"ConnConnectedEv 1 1010 CONNECTED/INITIATED c100 m128",
		"CallCtlConnInitiatedEv 1 1010 CONNECTED/INITIATED c100 m128",
		"TermConnCreatedEv 1 1010@SEP1010 IDLE/IDLE c100 m128",
		"TermConnActiveEv 1 1010@SEP1010 ACTIVE/TALKING c100 m128",
		"CallCtlTermConnTalkingEv 1 1010@SEP1010 ACTIVE/TALKING c100 m128",
		"CallCtlConnDialingEv 1 1010 CONNECTED/DIALING c100 m128",
		"CallCtlConnEstablishedEv 1 1010 CONNECTED/ESTABLISHED c100 m128",
		"ConnCreatedEv 1 1031 IDLE/IDLE c100 m128",
		"ConnInProgressEv 1 1031 INPROGRESS/OFFERED c100 m128",
		"CallCtlConnOfferedEv 1 1031 INPROGRESS/OFFERED c100/210 m128",
		"ConnAlertingEv 1 1031 ALERTING/ALERTING c100 m128",
		"CallCtlConnAlertingEv 1 1031 ALERTING/ALERTING c100 m128",
		"TermConnCreatedEv 1 1031@SEP1031 IDLE/IDLE c100 m128",
		"TermConnRingingEv 1 1031@SEP1031 RINGING/RINGING c100 m128",
		"CallCtlTermConnRingingEv 1 1031@SEP1031 RINGING/RINGING c100 m128",
		"ConnConnectedEv 1 1031 CONNECTED/ESTABLISHED c100 m129",
		"CallCtlConnEstablishedEv 1 1031 CONNECTED/ESTABLISHED c100 m129",
		"TermConnActiveEv 1 1031@SEP1031 ACTIVE/TALKING c100 m129",
		"CallCtlTermConnTalkingEv 1 1031@SEP1031 ACTIVE/TALKING c100 m129",
		"TermConnDroppedEv 1 1010@SEP1010 DROPPED/DROPPED c100 m132",
		"CallCtlTermConnDroppedEv 1 1010@SEP1010 DROPPED/DROPPED c100 m132",
		"ConnDisconnectedEv 1 1010 DISCONNECTED/DISCONNECTED c100 m132",
		"CallCtlConnDisconnectedEv 1 1010 DISCONNECTED/DISCONNECTED c100 m132",
		"TermConnDroppedEv 1 1031@SEP1031 DROPPED/DROPPED c100 m132",
		"CallCtlTermConnDroppedEv 1 1031@SEP1031 DROPPED/DROPPED c100 m132",
		"ConnDisconnectedEv 1 1031 DISCONNECTED/DISCONNECTED c100 m132",
		"CallCtlConnDisconnectedEv 1 1031 DISCONNECTED/DISCONNECTED c100 m132",
		"CallInvalidEv 1 c100 m132",
		"CallObservationEndedEv 1 c100 m132",
	}, formatAll(outs))
	if r := connReason(t, outs, "CallCtlConnOfferedEv", "1031"); r != "FORWARDALL" {
		t.Errorf("D offered with reason %q, want FORWARDALL", r)
	}
}

// Call forward busy: B (1032) is busy and forwards to D (1033); observed
// on A and D. As forward all, with reason FORWARDBUSY (the guide's
// forward-busy chart, JTAPI guide 15 p.1560: "2000 has Call Forward busy
// configured so the Cisco Unified Communications Manager initiates a call
// to 3000 ... JTAPI reports connection created event for 3000").
func TestDialPlan_ForwardBusy(t *testing.T) {
	outs := playScriptedOuts(t, dialPlanDir(), traffic.ForwardBusy, "1010", "1032", "", "1010", "1033")
	diff(t, []string{
		"CallActiveEv 1 c100 m128",
		"ConnCreatedEv 1 1010 IDLE/IDLE c100 m128",
		"ConnConnectedEv 1 1010 CONNECTED/INITIATED c100 m128",
		"CallCtlConnInitiatedEv 1 1010 CONNECTED/INITIATED c100 m128",
		"TermConnCreatedEv 1 1010@SEP1010 IDLE/IDLE c100 m128",
		"TermConnActiveEv 1 1010@SEP1010 ACTIVE/TALKING c100 m128",
		"CallCtlTermConnTalkingEv 1 1010@SEP1010 ACTIVE/TALKING c100 m128",
		"CallCtlConnDialingEv 1 1010 CONNECTED/DIALING c100 m128",
		"CallCtlConnEstablishedEv 1 1010 CONNECTED/ESTABLISHED c100 m128",
		"ConnCreatedEv 1 1033 IDLE/IDLE c100 m128",
		"ConnInProgressEv 1 1033 INPROGRESS/OFFERED c100 m128",
		"CallCtlConnOfferedEv 1 1033 INPROGRESS/OFFERED c100/210 m128",
		"ConnAlertingEv 1 1033 ALERTING/ALERTING c100 m128",
		"CallCtlConnAlertingEv 1 1033 ALERTING/ALERTING c100 m128",
		"TermConnCreatedEv 1 1033@SEP1033 IDLE/IDLE c100 m128",
		"TermConnRingingEv 1 1033@SEP1033 RINGING/RINGING c100 m128",
		"CallCtlTermConnRingingEv 1 1033@SEP1033 RINGING/RINGING c100 m128",
		"ConnConnectedEv 1 1033 CONNECTED/ESTABLISHED c100 m129",
		"CallCtlConnEstablishedEv 1 1033 CONNECTED/ESTABLISHED c100 m129",
		"TermConnActiveEv 1 1033@SEP1033 ACTIVE/TALKING c100 m129",
		"CallCtlTermConnTalkingEv 1 1033@SEP1033 ACTIVE/TALKING c100 m129",
		"TermConnDroppedEv 1 1010@SEP1010 DROPPED/DROPPED c100 m132",
		"CallCtlTermConnDroppedEv 1 1010@SEP1010 DROPPED/DROPPED c100 m132",
		"ConnDisconnectedEv 1 1010 DISCONNECTED/DISCONNECTED c100 m132",
		"CallCtlConnDisconnectedEv 1 1010 DISCONNECTED/DISCONNECTED c100 m132",
		"TermConnDroppedEv 1 1033@SEP1033 DROPPED/DROPPED c100 m132",
		"CallCtlTermConnDroppedEv 1 1033@SEP1033 DROPPED/DROPPED c100 m132",
		"ConnDisconnectedEv 1 1033 DISCONNECTED/DISCONNECTED c100 m132",
		"CallCtlConnDisconnectedEv 1 1033 DISCONNECTED/DISCONNECTED c100 m132",
		"CallInvalidEv 1 c100 m132",
		"CallObservationEndedEv 1 c100 m132",
	}, formatAll(outs))
	if r := connReason(t, outs, "CallCtlConnOfferedEv", "1033"); r != "FORWARDBUSY" {
		t.Errorf("D offered with reason %q, want FORWARDBUSY", r)
	}
}

// Call forward no answer: B (1034) rings, does not answer and forwards to
// D (1035). B's connection leaves with REDIRECTED (meta REMOVING_PARTY),
// then D's is created with REDIRECTED and reason FORWARDNOANSWER, in the
// guide's order: "RNAR timer expires ... JTAPI removes connection for
// 333777 and creates connection for 555888" (JTAPI guide 15 p.1559).
func TestDialPlan_ForwardNoAnswer(t *testing.T) {
	outs := playScriptedOuts(t, dialPlanDir(), traffic.ForwardNoAnswer, "1010", "1034", "", "1010", "1034", "1035")
	diff(t, []string{
		"CallActiveEv 1 c100 m128",
		"ConnCreatedEv 1 1010 IDLE/IDLE c100 m128",
		"ConnConnectedEv 1 1010 CONNECTED/INITIATED c100 m128",
		"CallCtlConnInitiatedEv 1 1010 CONNECTED/INITIATED c100 m128",
		"TermConnCreatedEv 1 1010@SEP1010 IDLE/IDLE c100 m128",
		"TermConnActiveEv 1 1010@SEP1010 ACTIVE/TALKING c100 m128",
		"CallCtlTermConnTalkingEv 1 1010@SEP1010 ACTIVE/TALKING c100 m128",
		"CallCtlConnDialingEv 1 1010 CONNECTED/DIALING c100 m128",
		"CallCtlConnEstablishedEv 1 1010 CONNECTED/ESTABLISHED c100 m128",
		"ConnCreatedEv 1 1034 IDLE/IDLE c100 m128",
		"ConnInProgressEv 1 1034 INPROGRESS/OFFERED c100 m128",
		"CallCtlConnOfferedEv 1 1034 INPROGRESS/OFFERED c100 m128",
		"ConnAlertingEv 1 1034 ALERTING/ALERTING c100 m128",
		"CallCtlConnAlertingEv 1 1034 ALERTING/ALERTING c100 m128",
		"TermConnCreatedEv 1 1034@SEP1034 IDLE/IDLE c100 m128",
		"TermConnRingingEv 1 1034@SEP1034 RINGING/RINGING c100 m128",
		"CallCtlTermConnRingingEv 1 1034@SEP1034 RINGING/RINGING c100 m128",
		"TermConnDroppedEv 1 1034@SEP1034 DROPPED/DROPPED c100 m131",
		"CallCtlTermConnDroppedEv 1 1034@SEP1034 DROPPED/DROPPED c100/210 m131",
		"ConnDisconnectedEv 1 1034 DISCONNECTED/DISCONNECTED c100 m131",
		"CallCtlConnDisconnectedEv 1 1034 DISCONNECTED/DISCONNECTED c100/210 m131",
		"ConnCreatedEv 1 1035 IDLE/IDLE c100 m128",
		"ConnInProgressEv 1 1035 INPROGRESS/OFFERED c100 m128",
		"CallCtlConnOfferedEv 1 1035 INPROGRESS/OFFERED c100/210 m128",
		"ConnAlertingEv 1 1035 ALERTING/ALERTING c100 m128",
		"CallCtlConnAlertingEv 1 1035 ALERTING/ALERTING c100 m128",
		"TermConnCreatedEv 1 1035@SEP1035 IDLE/IDLE c100 m128",
		"TermConnRingingEv 1 1035@SEP1035 RINGING/RINGING c100 m128",
		"CallCtlTermConnRingingEv 1 1035@SEP1035 RINGING/RINGING c100 m128",
		"ConnConnectedEv 1 1035 CONNECTED/ESTABLISHED c100 m129",
		"CallCtlConnEstablishedEv 1 1035 CONNECTED/ESTABLISHED c100 m129",
		"TermConnActiveEv 1 1035@SEP1035 ACTIVE/TALKING c100 m129",
		"CallCtlTermConnTalkingEv 1 1035@SEP1035 ACTIVE/TALKING c100 m129",
		"TermConnDroppedEv 1 1010@SEP1010 DROPPED/DROPPED c100 m132",
		"CallCtlTermConnDroppedEv 1 1010@SEP1010 DROPPED/DROPPED c100 m132",
		"ConnDisconnectedEv 1 1010 DISCONNECTED/DISCONNECTED c100 m132",
		"CallCtlConnDisconnectedEv 1 1010 DISCONNECTED/DISCONNECTED c100 m132",
		"TermConnDroppedEv 1 1035@SEP1035 DROPPED/DROPPED c100 m132",
		"CallCtlTermConnDroppedEv 1 1035@SEP1035 DROPPED/DROPPED c100 m132",
		"ConnDisconnectedEv 1 1035 DISCONNECTED/DISCONNECTED c100 m132",
		"CallCtlConnDisconnectedEv 1 1035 DISCONNECTED/DISCONNECTED c100 m132",
		"CallInvalidEv 1 c100 m132",
		"CallObservationEndedEv 1 c100 m132",
	}, formatAll(outs))
	if r := connReason(t, outs, "CallCtlConnOfferedEv", "1035"); r != "FORWARDNOANSWER" {
		t.Errorf("D offered with reason %q, want FORWARDNOANSWER", r)
	}
}

// Call forward no answer seen from the forwarding line only: once the
// call leaves B it leaves this observer's domain, and the call ends for
// it with REDIRECTED, as the guide shows for a hunt call moving to a
// member not observed (ConnDisconnectedEv ... getCallControlCause() =
// CAUSE.REDIRECTED, then CallInvalidEv; JTAPI guide 15 p.1092).
func TestDialPlan_ForwardNoAnswerSeenByTheForwardingLine(t *testing.T) {
	got := playScripted(t, dialPlanDir(), traffic.ForwardNoAnswer, "1010", "1034", "", "1034")
	diff(t, []string{
		"CallActiveEv 1 c100 m128",
		"ConnCreatedEv 1 1010 IDLE/IDLE c100 m128",
		"ConnConnectedEv 1 1010 CONNECTED/ESTABLISHED c100 m128",
		"CallCtlConnEstablishedEv 1 1010 CONNECTED/ESTABLISHED c100 m128",
		"ConnCreatedEv 1 1034 IDLE/IDLE c100 m128",
		"ConnInProgressEv 1 1034 INPROGRESS/OFFERED c100 m128",
		"CallCtlConnOfferedEv 1 1034 INPROGRESS/OFFERED c100 m128",
		"ConnAlertingEv 1 1034 ALERTING/ALERTING c100 m128",
		"CallCtlConnAlertingEv 1 1034 ALERTING/ALERTING c100 m128",
		"TermConnCreatedEv 1 1034@SEP1034 IDLE/IDLE c100 m128",
		"TermConnRingingEv 1 1034@SEP1034 RINGING/RINGING c100 m128",
		"CallCtlTermConnRingingEv 1 1034@SEP1034 RINGING/RINGING c100 m128",
		"TermConnDroppedEv 1 1034@SEP1034 DROPPED/DROPPED c100 m131",
		"CallCtlTermConnDroppedEv 1 1034@SEP1034 DROPPED/DROPPED c100/210 m131",
		"ConnDisconnectedEv 1 1034 DISCONNECTED/DISCONNECTED c100 m131",
		"CallCtlConnDisconnectedEv 1 1034 DISCONNECTED/DISCONNECTED c100/210 m131",
		"ConnDisconnectedEv 1 1010 DISCONNECTED/DISCONNECTED c100 m132",
		"CallCtlConnDisconnectedEv 1 1010 DISCONNECTED/DISCONNECTED c100/210 m132",
		"CallInvalidEv 1 c100 m132",
		"CallObservationEndedEv 1 c100 m132",
	}, got)
}

// Call pickup, Auto Call Pickup disabled: A (1010) calls B (1020); C
// (1021), in B's pickup group, goes off hook and presses Pickup. The
// guide's event order exactly (JTAPI guide 15 p.1178): C's own call GC2
// becomes active and is dropped and invalidated; C gets a connection on
// GC1 (created, in progress, offered); B is dropped from GC1; C rings,
// then talks with A; no CiscoCallChangedEv. The pickup's connections carry
// the CallCtl cause CALL_PICKUP (206), B's removal meta REMOVING_PARTY.
func TestDialPlan_CallPickup(t *testing.T) {
	got := playScripted(t, dialPlanDir(), traffic.Pickup, "1010", "1020", "1021", "1010", "1020", "1021")
	diff(t, []string{
		"CallActiveEv 1 c100 m128",
		"ConnCreatedEv 1 1010 IDLE/IDLE c100 m128",
		"ConnConnectedEv 1 1010 CONNECTED/INITIATED c100 m128",
		"CallCtlConnInitiatedEv 1 1010 CONNECTED/INITIATED c100 m128",
		"TermConnCreatedEv 1 1010@SEP1010 IDLE/IDLE c100 m128",
		"TermConnActiveEv 1 1010@SEP1010 ACTIVE/TALKING c100 m128",
		"CallCtlTermConnTalkingEv 1 1010@SEP1010 ACTIVE/TALKING c100 m128",
		"CallCtlConnDialingEv 1 1010 CONNECTED/DIALING c100 m128",
		"CallCtlConnEstablishedEv 1 1010 CONNECTED/ESTABLISHED c100 m128",
		"ConnCreatedEv 1 1020 IDLE/IDLE c100 m128",
		"ConnInProgressEv 1 1020 INPROGRESS/OFFERED c100 m128",
		"CallCtlConnOfferedEv 1 1020 INPROGRESS/OFFERED c100 m128",
		"ConnAlertingEv 1 1020 ALERTING/ALERTING c100 m128",
		"CallCtlConnAlertingEv 1 1020 ALERTING/ALERTING c100 m128",
		"TermConnCreatedEv 1 1020@SEP1020 IDLE/IDLE c100 m128",
		"TermConnRingingEv 1 1020@SEP1020 RINGING/RINGING c100 m128",
		"CallCtlTermConnRingingEv 1 1020@SEP1020 RINGING/RINGING c100 m128",
		"CallActiveEv 2 c100 m128",
		"ConnCreatedEv 2 1021 IDLE/IDLE c100 m128",
		"ConnConnectedEv 2 1021 CONNECTED/INITIATED c100 m128",
		"CallCtlConnInitiatedEv 2 1021 CONNECTED/INITIATED c100 m128",
		"TermConnCreatedEv 2 1021@SEP1021 IDLE/IDLE c100 m128",
		"TermConnActiveEv 2 1021@SEP1021 ACTIVE/TALKING c100 m128",
		"CallCtlTermConnTalkingEv 2 1021@SEP1021 ACTIVE/TALKING c100 m128",
		"TermConnDroppedEv 2 1021@SEP1021 DROPPED/DROPPED c100 m131",
		"CallCtlTermConnDroppedEv 2 1021@SEP1021 DROPPED/DROPPED c100/206 m131",
		"ConnDisconnectedEv 2 1021 DISCONNECTED/DISCONNECTED c100 m131",
		"CallCtlConnDisconnectedEv 2 1021 DISCONNECTED/DISCONNECTED c100/206 m131",
		"CallInvalidEv 2 c100 m132",
		"CallObservationEndedEv 2 c100 m132",
		"ConnCreatedEv 1 1021 IDLE/IDLE c100 m128",
		"ConnInProgressEv 1 1021 INPROGRESS/OFFERED c100 m128",
		"CallCtlConnOfferedEv 1 1021 INPROGRESS/OFFERED c100/206 m128",
		"TermConnDroppedEv 1 1020@SEP1020 DROPPED/DROPPED c100 m131",
		"CallCtlTermConnDroppedEv 1 1020@SEP1020 DROPPED/DROPPED c100/206 m131",
		"ConnDisconnectedEv 1 1020 DISCONNECTED/DISCONNECTED c100 m131",
		"CallCtlConnDisconnectedEv 1 1020 DISCONNECTED/DISCONNECTED c100/206 m131",
		"ConnAlertingEv 1 1021 ALERTING/ALERTING c100 m128",
		"CallCtlConnAlertingEv 1 1021 ALERTING/ALERTING c100 m128",
		"TermConnCreatedEv 1 1021@SEP1021 IDLE/IDLE c100 m128",
		"TermConnRingingEv 1 1021@SEP1021 RINGING/RINGING c100 m128",
		"CallCtlTermConnRingingEv 1 1021@SEP1021 RINGING/RINGING c100 m128",
		"ConnConnectedEv 1 1021 CONNECTED/ESTABLISHED c100 m129",
		"CallCtlConnEstablishedEv 1 1021 CONNECTED/ESTABLISHED c100 m129",
		"TermConnActiveEv 1 1021@SEP1021 ACTIVE/TALKING c100 m129",
		"CallCtlTermConnTalkingEv 1 1021@SEP1021 ACTIVE/TALKING c100 m129",
		"TermConnDroppedEv 1 1010@SEP1010 DROPPED/DROPPED c100 m132",
		"CallCtlTermConnDroppedEv 1 1010@SEP1010 DROPPED/DROPPED c100 m132",
		"ConnDisconnectedEv 1 1010 DISCONNECTED/DISCONNECTED c100 m132",
		"CallCtlConnDisconnectedEv 1 1010 DISCONNECTED/DISCONNECTED c100 m132",
		"TermConnDroppedEv 1 1021@SEP1021 DROPPED/DROPPED c100 m132",
		"CallCtlTermConnDroppedEv 1 1021@SEP1021 DROPPED/DROPPED c100 m132",
		"ConnDisconnectedEv 1 1021 DISCONNECTED/DISCONNECTED c100 m132",
		"CallCtlConnDisconnectedEv 1 1021 DISCONNECTED/DISCONNECTED c100 m132",
		"CallInvalidEv 1 c100 m132",
		"CallObservationEndedEv 1 c100 m132",
	}, got)
}

// Call pickup seen from the picking-up line only: its own call, then the
// picked call with the caller synthesized (JTAPI guide 15 p.1178).
func TestDialPlan_CallPickupSeenByThePicker(t *testing.T) {
	got := playScripted(t, dialPlanDir(), traffic.Pickup, "1010", "1020", "1021", "1021")
	diff(t, []string{
		"CallActiveEv 2 c100 m128",
		"ConnCreatedEv 2 1021 IDLE/IDLE c100 m128",
		"ConnConnectedEv 2 1021 CONNECTED/INITIATED c100 m128",
		"CallCtlConnInitiatedEv 2 1021 CONNECTED/INITIATED c100 m128",
		"TermConnCreatedEv 2 1021@SEP1021 IDLE/IDLE c100 m128",
		"TermConnActiveEv 2 1021@SEP1021 ACTIVE/TALKING c100 m128",
		"CallCtlTermConnTalkingEv 2 1021@SEP1021 ACTIVE/TALKING c100 m128",
		"TermConnDroppedEv 2 1021@SEP1021 DROPPED/DROPPED c100 m131",
		"CallCtlTermConnDroppedEv 2 1021@SEP1021 DROPPED/DROPPED c100/206 m131",
		"ConnDisconnectedEv 2 1021 DISCONNECTED/DISCONNECTED c100 m131",
		"CallCtlConnDisconnectedEv 2 1021 DISCONNECTED/DISCONNECTED c100/206 m131",
		"CallInvalidEv 2 c100 m132",
		"CallObservationEndedEv 2 c100 m132",
		"CallActiveEv 1 c100 m128",
		"ConnCreatedEv 1 1010 IDLE/IDLE c100 m128",
		"ConnConnectedEv 1 1010 CONNECTED/ESTABLISHED c100 m128",
		"CallCtlConnEstablishedEv 1 1010 CONNECTED/ESTABLISHED c100/206 m128",
		"ConnCreatedEv 1 1021 IDLE/IDLE c100 m128",
		"ConnInProgressEv 1 1021 INPROGRESS/OFFERED c100 m128",
		"CallCtlConnOfferedEv 1 1021 INPROGRESS/OFFERED c100/206 m128",
		"ConnAlertingEv 1 1021 ALERTING/ALERTING c100 m128",
		"CallCtlConnAlertingEv 1 1021 ALERTING/ALERTING c100 m128",
		"TermConnCreatedEv 1 1021@SEP1021 IDLE/IDLE c100 m128",
		"TermConnRingingEv 1 1021@SEP1021 RINGING/RINGING c100 m128",
		"CallCtlTermConnRingingEv 1 1021@SEP1021 RINGING/RINGING c100 m128",
		"ConnConnectedEv 1 1021 CONNECTED/ESTABLISHED c100 m129",
		"CallCtlConnEstablishedEv 1 1021 CONNECTED/ESTABLISHED c100 m129",
		"TermConnActiveEv 1 1021@SEP1021 ACTIVE/TALKING c100 m129",
		"CallCtlTermConnTalkingEv 1 1021@SEP1021 ACTIVE/TALKING c100 m129",
		"TermConnDroppedEv 1 1021@SEP1021 DROPPED/DROPPED c100 m132",
		"CallCtlTermConnDroppedEv 1 1021@SEP1021 DROPPED/DROPPED c100 m132",
		"ConnDisconnectedEv 1 1021 DISCONNECTED/DISCONNECTED c100 m132",
		"CallCtlConnDisconnectedEv 1 1021 DISCONNECTED/DISCONNECTED c100 m132",
		"ConnDisconnectedEv 1 1010 DISCONNECTED/DISCONNECTED c100 m132",
		"CallCtlConnDisconnectedEv 1 1010 DISCONNECTED/DISCONNECTED c100 m132",
		"CallInvalidEv 1 c100 m132",
		"CallObservationEndedEv 1 c100 m132",
	}, got)
}

// Call park and retrieval: A (1010) calls B (1011); B parks the call on
// park number 8000; C (1012) retrieves it. B leaves with CallCtl cause
// PARK (209); the park number joins the call as a party waiting QUEUED
// (the directed-park number gets "ConnCreatedEv, ConnInProgressEv and
// CallCtlConnQueuedEv", JTAPI guide 15 p.195) and leaves it when the call
// is retrieved ("GC1 ConnDisconnectedEv P1", JTAPI guide 15 p.1284); the
// retriever's own call is dropped and it joins GC1 talking (the retrieval
// chart is not in the guide; it follows the pickup's, p.1178).
func TestDialPlan_ParkAndRetrieve(t *testing.T) {
	got := playScripted(t, dialPlanDir(), traffic.Park, "1010", "1011", "1012", "1010", "1011", "1012")
	diff(t, []string{
		"CallActiveEv 1 c100 m128",
		"ConnCreatedEv 1 1010 IDLE/IDLE c100 m128",
		"ConnConnectedEv 1 1010 CONNECTED/INITIATED c100 m128",
		"CallCtlConnInitiatedEv 1 1010 CONNECTED/INITIATED c100 m128",
		"TermConnCreatedEv 1 1010@SEP1010 IDLE/IDLE c100 m128",
		"TermConnActiveEv 1 1010@SEP1010 ACTIVE/TALKING c100 m128",
		"CallCtlTermConnTalkingEv 1 1010@SEP1010 ACTIVE/TALKING c100 m128",
		"CallCtlConnDialingEv 1 1010 CONNECTED/DIALING c100 m128",
		"CallCtlConnEstablishedEv 1 1010 CONNECTED/ESTABLISHED c100 m128",
		"ConnCreatedEv 1 1011 IDLE/IDLE c100 m128",
		"ConnInProgressEv 1 1011 INPROGRESS/OFFERED c100 m128",
		"CallCtlConnOfferedEv 1 1011 INPROGRESS/OFFERED c100 m128",
		"ConnAlertingEv 1 1011 ALERTING/ALERTING c100 m128",
		"CallCtlConnAlertingEv 1 1011 ALERTING/ALERTING c100 m128",
		"TermConnCreatedEv 1 1011@SEP1011 IDLE/IDLE c100 m128",
		"TermConnRingingEv 1 1011@SEP1011 RINGING/RINGING c100 m128",
		"CallCtlTermConnRingingEv 1 1011@SEP1011 RINGING/RINGING c100 m128",
		"ConnConnectedEv 1 1011 CONNECTED/ESTABLISHED c100 m129",
		"CallCtlConnEstablishedEv 1 1011 CONNECTED/ESTABLISHED c100 m129",
		"TermConnActiveEv 1 1011@SEP1011 ACTIVE/TALKING c100 m129",
		"CallCtlTermConnTalkingEv 1 1011@SEP1011 ACTIVE/TALKING c100 m129",
		"TermConnDroppedEv 1 1011@SEP1011 DROPPED/DROPPED c100 m131",
		"CallCtlTermConnDroppedEv 1 1011@SEP1011 DROPPED/DROPPED c100/209 m131",
		"ConnDisconnectedEv 1 1011 DISCONNECTED/DISCONNECTED c100 m131",
		"CallCtlConnDisconnectedEv 1 1011 DISCONNECTED/DISCONNECTED c100/209 m131",
		"ConnCreatedEv 1 8000 IDLE/IDLE c100 m129",
		"ConnInProgressEv 1 8000 INPROGRESS/QUEUED c100 m129",
		"CallCtlConnQueuedEv 1 8000 INPROGRESS/QUEUED c100/209 m129",
		"CallActiveEv 2 c100 m128",
		"ConnCreatedEv 2 1012 IDLE/IDLE c100 m128",
		"ConnConnectedEv 2 1012 CONNECTED/INITIATED c100 m128",
		"CallCtlConnInitiatedEv 2 1012 CONNECTED/INITIATED c100 m128",
		"TermConnCreatedEv 2 1012@SEP1012 IDLE/IDLE c100 m128",
		"TermConnActiveEv 2 1012@SEP1012 ACTIVE/TALKING c100 m128",
		"CallCtlTermConnTalkingEv 2 1012@SEP1012 ACTIVE/TALKING c100 m128",
		"CallCtlConnDialingEv 2 1012 CONNECTED/DIALING c100 m128",
		"TermConnDroppedEv 2 1012@SEP1012 DROPPED/DROPPED c100 m131",
		"CallCtlTermConnDroppedEv 2 1012@SEP1012 DROPPED/DROPPED c100/209 m131",
		"ConnDisconnectedEv 2 1012 DISCONNECTED/DISCONNECTED c100 m131",
		"CallCtlConnDisconnectedEv 2 1012 DISCONNECTED/DISCONNECTED c100/209 m131",
		"CallInvalidEv 2 c100 m132",
		"CallObservationEndedEv 2 c100 m132",
		"ConnCreatedEv 1 1012 IDLE/IDLE c100 m129",
		"ConnConnectedEv 1 1012 CONNECTED/ESTABLISHED c100 m129",
		"CallCtlConnEstablishedEv 1 1012 CONNECTED/ESTABLISHED c100/209 m129",
		"TermConnCreatedEv 1 1012@SEP1012 IDLE/IDLE c100 m129",
		"TermConnActiveEv 1 1012@SEP1012 ACTIVE/TALKING c100 m129",
		"CallCtlTermConnTalkingEv 1 1012@SEP1012 ACTIVE/TALKING c100/209 m129",
		"ConnDisconnectedEv 1 8000 DISCONNECTED/DISCONNECTED c100 m129",
		"CallCtlConnDisconnectedEv 1 8000 DISCONNECTED/DISCONNECTED c100/209 m129",
		"TermConnDroppedEv 1 1010@SEP1010 DROPPED/DROPPED c100 m132",
		"CallCtlTermConnDroppedEv 1 1010@SEP1010 DROPPED/DROPPED c100 m132",
		"ConnDisconnectedEv 1 1010 DISCONNECTED/DISCONNECTED c100 m132",
		"CallCtlConnDisconnectedEv 1 1010 DISCONNECTED/DISCONNECTED c100 m132",
		"TermConnDroppedEv 1 1012@SEP1012 DROPPED/DROPPED c100 m132",
		"CallCtlTermConnDroppedEv 1 1012@SEP1012 DROPPED/DROPPED c100 m132",
		"ConnDisconnectedEv 1 1012 DISCONNECTED/DISCONNECTED c100 m132",
		"CallCtlConnDisconnectedEv 1 1012 DISCONNECTED/DISCONNECTED c100 m132",
		"CallInvalidEv 1 c100 m132",
		"CallObservationEndedEv 1 c100 m132",
	}, got)
}

// Call park seen by the parker only: the call leaves its domain when it
// parks it, with cause PARK.
func TestDialPlan_ParkSeenByTheParker(t *testing.T) {
	got := playScripted(t, dialPlanDir(), traffic.Park, "1010", "1011", "1012", "1011")
	diff(t, []string{
		"CallActiveEv 1 c100 m128",
		"ConnCreatedEv 1 1010 IDLE/IDLE c100 m128",
		"ConnConnectedEv 1 1010 CONNECTED/ESTABLISHED c100 m128",
		"CallCtlConnEstablishedEv 1 1010 CONNECTED/ESTABLISHED c100 m128",
		"ConnCreatedEv 1 1011 IDLE/IDLE c100 m128",
		"ConnInProgressEv 1 1011 INPROGRESS/OFFERED c100 m128",
		"CallCtlConnOfferedEv 1 1011 INPROGRESS/OFFERED c100 m128",
		"ConnAlertingEv 1 1011 ALERTING/ALERTING c100 m128",
		"CallCtlConnAlertingEv 1 1011 ALERTING/ALERTING c100 m128",
		"TermConnCreatedEv 1 1011@SEP1011 IDLE/IDLE c100 m128",
		"TermConnRingingEv 1 1011@SEP1011 RINGING/RINGING c100 m128",
		"CallCtlTermConnRingingEv 1 1011@SEP1011 RINGING/RINGING c100 m128",
		"ConnConnectedEv 1 1011 CONNECTED/ESTABLISHED c100 m129",
		"CallCtlConnEstablishedEv 1 1011 CONNECTED/ESTABLISHED c100 m129",
		"TermConnActiveEv 1 1011@SEP1011 ACTIVE/TALKING c100 m129",
		"CallCtlTermConnTalkingEv 1 1011@SEP1011 ACTIVE/TALKING c100 m129",
		"TermConnDroppedEv 1 1011@SEP1011 DROPPED/DROPPED c100 m131",
		"CallCtlTermConnDroppedEv 1 1011@SEP1011 DROPPED/DROPPED c100/209 m131",
		"ConnDisconnectedEv 1 1011 DISCONNECTED/DISCONNECTED c100 m131",
		"CallCtlConnDisconnectedEv 1 1011 DISCONNECTED/DISCONNECTED c100/209 m131",
		"ConnDisconnectedEv 1 1010 DISCONNECTED/DISCONNECTED c100 m132",
		"CallCtlConnDisconnectedEv 1 1010 DISCONNECTED/DISCONNECTED c100/209 m132",
		"CallInvalidEv 1 c100 m132",
		"CallObservationEndedEv 1 c100 m132",
	}, got)
}

// Call park seen by the parked caller only: the parker leaves, the park
// number waits QUEUED, the retriever arrives and the park number leaves
// (JTAPI guide 15 p.1284, p.195).
func TestDialPlan_ParkSeenByTheParkedCaller(t *testing.T) {
	got := playScripted(t, dialPlanDir(), traffic.Park, "1010", "1011", "1012", "1010")
	diff(t, []string{
		"CallActiveEv 1 c100 m128",
		"ConnCreatedEv 1 1010 IDLE/IDLE c100 m128",
		"ConnConnectedEv 1 1010 CONNECTED/INITIATED c100 m128",
		"CallCtlConnInitiatedEv 1 1010 CONNECTED/INITIATED c100 m128",
		"TermConnCreatedEv 1 1010@SEP1010 IDLE/IDLE c100 m128",
		"TermConnActiveEv 1 1010@SEP1010 ACTIVE/TALKING c100 m128",
		"CallCtlTermConnTalkingEv 1 1010@SEP1010 ACTIVE/TALKING c100 m128",
		"CallCtlConnDialingEv 1 1010 CONNECTED/DIALING c100 m128",
		"CallCtlConnEstablishedEv 1 1010 CONNECTED/ESTABLISHED c100 m128",
		"ConnCreatedEv 1 1011 IDLE/IDLE c100 m128",
		"ConnInProgressEv 1 1011 INPROGRESS/OFFERED c100 m128",
		"CallCtlConnOfferedEv 1 1011 INPROGRESS/OFFERED c100 m128",
		"ConnAlertingEv 1 1011 ALERTING/ALERTING c100 m128",
		"CallCtlConnAlertingEv 1 1011 ALERTING/ALERTING c100 m128",
		"ConnConnectedEv 1 1011 CONNECTED/ESTABLISHED c100 m129",
		"CallCtlConnEstablishedEv 1 1011 CONNECTED/ESTABLISHED c100 m129",
		"ConnDisconnectedEv 1 1011 DISCONNECTED/DISCONNECTED c100 m129",
		"CallCtlConnDisconnectedEv 1 1011 DISCONNECTED/DISCONNECTED c100/209 m129",
		"ConnCreatedEv 1 8000 IDLE/IDLE c100 m129",
		"ConnInProgressEv 1 8000 INPROGRESS/QUEUED c100 m129",
		"CallCtlConnQueuedEv 1 8000 INPROGRESS/QUEUED c100/209 m129",
		"ConnCreatedEv 1 1012 IDLE/IDLE c100 m129",
		"ConnConnectedEv 1 1012 CONNECTED/ESTABLISHED c100 m129",
		"CallCtlConnEstablishedEv 1 1012 CONNECTED/ESTABLISHED c100/209 m129",
		"ConnDisconnectedEv 1 8000 DISCONNECTED/DISCONNECTED c100 m129",
		"CallCtlConnDisconnectedEv 1 8000 DISCONNECTED/DISCONNECTED c100/209 m129",
		"TermConnDroppedEv 1 1010@SEP1010 DROPPED/DROPPED c100 m132",
		"CallCtlTermConnDroppedEv 1 1010@SEP1010 DROPPED/DROPPED c100 m132",
		"ConnDisconnectedEv 1 1010 DISCONNECTED/DISCONNECTED c100 m132",
		"CallCtlConnDisconnectedEv 1 1010 DISCONNECTED/DISCONNECTED c100 m132",
		"ConnDisconnectedEv 1 1012 DISCONNECTED/DISCONNECTED c100 m132",
		"CallCtlConnDisconnectedEv 1 1012 DISCONNECTED/DISCONNECTED c100 m132",
		"CallInvalidEv 1 c100 m132",
		"CallObservationEndedEv 1 c100 m132",
	}, got)
}

// A hunt-list call observed on the caller and the members: A (1010) calls
// hunt pilot 4000; member 1014 rings out, member 1015 answers. The pilot's
// connection is a CiscoHuntConnection (CiscoHuntConnCreatedEv), ESTABLISHED
// once the call is routed to it, and stays until the call ends; observed
// members are offered and ring; the member passed over leaves with
// REDIRECTED (JTAPI guide 15 p.168: "three connections, Calling, Hunt
// Pilot, and Hunt Member ... connection to member goes to Offering state
// and the connection to Hunt Pilot goes to Established state"; p.1092).
func TestDialPlan_HuntListCall(t *testing.T) {
	got := playScripted(t, dialPlanDir(), traffic.Hunt, "1010", "4000", "", "1010", "1014", "1015")
	diff(t, []string{
		"CallActiveEv 1 c100 m128",
		"ConnCreatedEv 1 1010 IDLE/IDLE c100 m128",
		"ConnConnectedEv 1 1010 CONNECTED/INITIATED c100 m128",
		"CallCtlConnInitiatedEv 1 1010 CONNECTED/INITIATED c100 m128",
		"TermConnCreatedEv 1 1010@SEP1010 IDLE/IDLE c100 m128",
		"TermConnActiveEv 1 1010@SEP1010 ACTIVE/TALKING c100 m128",
		"CallCtlTermConnTalkingEv 1 1010@SEP1010 ACTIVE/TALKING c100 m128",
		"CallCtlConnDialingEv 1 1010 CONNECTED/DIALING c100 m128",
		"CiscoHuntConnCreatedEv 1 4000 IDLE/IDLE c100 m128",
		"ConnConnectedEv 1 4000 CONNECTED/ESTABLISHED c100 m128",
		"CallCtlConnEstablishedEv 1 4000 CONNECTED/ESTABLISHED c100 m128",
		"CallCtlConnEstablishedEv 1 1010 CONNECTED/ESTABLISHED c100 m128",
		"ConnCreatedEv 1 1014 IDLE/IDLE c100 m128",
		"ConnInProgressEv 1 1014 INPROGRESS/OFFERED c100 m128",
		"CallCtlConnOfferedEv 1 1014 INPROGRESS/OFFERED c100 m128",
		"ConnAlertingEv 1 1014 ALERTING/ALERTING c100 m128",
		"CallCtlConnAlertingEv 1 1014 ALERTING/ALERTING c100 m128",
		"TermConnCreatedEv 1 1014@SEP1014 IDLE/IDLE c100 m128",
		"TermConnRingingEv 1 1014@SEP1014 RINGING/RINGING c100 m128",
		"CallCtlTermConnRingingEv 1 1014@SEP1014 RINGING/RINGING c100 m128",
		"TermConnDroppedEv 1 1014@SEP1014 DROPPED/DROPPED c100 m131",
		"CallCtlTermConnDroppedEv 1 1014@SEP1014 DROPPED/DROPPED c100/210 m131",
		"ConnDisconnectedEv 1 1014 DISCONNECTED/DISCONNECTED c100 m131",
		"CallCtlConnDisconnectedEv 1 1014 DISCONNECTED/DISCONNECTED c100/210 m131",
		"ConnCreatedEv 1 1015 IDLE/IDLE c100 m128",
		"ConnInProgressEv 1 1015 INPROGRESS/OFFERED c100 m128",
		"CallCtlConnOfferedEv 1 1015 INPROGRESS/OFFERED c100 m128",
		"ConnAlertingEv 1 1015 ALERTING/ALERTING c100 m128",
		"CallCtlConnAlertingEv 1 1015 ALERTING/ALERTING c100 m128",
		"TermConnCreatedEv 1 1015@SEP1015 IDLE/IDLE c100 m128",
		"TermConnRingingEv 1 1015@SEP1015 RINGING/RINGING c100 m128",
		"CallCtlTermConnRingingEv 1 1015@SEP1015 RINGING/RINGING c100 m128",
		"ConnConnectedEv 1 1015 CONNECTED/ESTABLISHED c100 m129",
		"CallCtlConnEstablishedEv 1 1015 CONNECTED/ESTABLISHED c100 m129",
		"TermConnActiveEv 1 1015@SEP1015 ACTIVE/TALKING c100 m129",
		"CallCtlTermConnTalkingEv 1 1015@SEP1015 ACTIVE/TALKING c100 m129",
		"TermConnDroppedEv 1 1010@SEP1010 DROPPED/DROPPED c100 m132",
		"CallCtlTermConnDroppedEv 1 1010@SEP1010 DROPPED/DROPPED c100 m132",
		"ConnDisconnectedEv 1 1010 DISCONNECTED/DISCONNECTED c100 m132",
		"CallCtlConnDisconnectedEv 1 1010 DISCONNECTED/DISCONNECTED c100 m132",
		"TermConnDroppedEv 1 1015@SEP1015 DROPPED/DROPPED c100 m132",
		"CallCtlTermConnDroppedEv 1 1015@SEP1015 DROPPED/DROPPED c100 m132",
		"ConnDisconnectedEv 1 1015 DISCONNECTED/DISCONNECTED c100 m132",
		"CallCtlConnDisconnectedEv 1 1015 DISCONNECTED/DISCONNECTED c100 m132",
		"ConnDisconnectedEv 1 4000 DISCONNECTED/DISCONNECTED c100 m132",
		"CallCtlConnDisconnectedEv 1 4000 DISCONNECTED/DISCONNECTED c100 m132",
		"CallInvalidEv 1 c100 m132",
		"CallObservationEndedEv 1 c100 m132",
	}, got)
}

// A hunt-list call seen by the caller only: the members are not observed,
// so the member's connection is "created only when the call is answered"
// (JTAPI guide 15 p.168) — none for the member that rang out.
func TestDialPlan_HuntListCallSeenByTheCaller(t *testing.T) {
	got := playScripted(t, dialPlanDir(), traffic.Hunt, "1010", "4000", "", "1010")
	diff(t, []string{
		"CallActiveEv 1 c100 m128",
		"ConnCreatedEv 1 1010 IDLE/IDLE c100 m128",
		"ConnConnectedEv 1 1010 CONNECTED/INITIATED c100 m128",
		"CallCtlConnInitiatedEv 1 1010 CONNECTED/INITIATED c100 m128",
		"TermConnCreatedEv 1 1010@SEP1010 IDLE/IDLE c100 m128",
		"TermConnActiveEv 1 1010@SEP1010 ACTIVE/TALKING c100 m128",
		"CallCtlTermConnTalkingEv 1 1010@SEP1010 ACTIVE/TALKING c100 m128",
		"CallCtlConnDialingEv 1 1010 CONNECTED/DIALING c100 m128",
		"CiscoHuntConnCreatedEv 1 4000 IDLE/IDLE c100 m128",
		"ConnConnectedEv 1 4000 CONNECTED/ESTABLISHED c100 m128",
		"CallCtlConnEstablishedEv 1 4000 CONNECTED/ESTABLISHED c100 m128",
		"CallCtlConnEstablishedEv 1 1010 CONNECTED/ESTABLISHED c100 m128",
		"ConnCreatedEv 1 1015 IDLE/IDLE c100 m129",
		"ConnConnectedEv 1 1015 CONNECTED/ESTABLISHED c100 m129",
		"CallCtlConnEstablishedEv 1 1015 CONNECTED/ESTABLISHED c100 m129",
		"TermConnDroppedEv 1 1010@SEP1010 DROPPED/DROPPED c100 m132",
		"CallCtlTermConnDroppedEv 1 1010@SEP1010 DROPPED/DROPPED c100 m132",
		"ConnDisconnectedEv 1 1010 DISCONNECTED/DISCONNECTED c100 m132",
		"CallCtlConnDisconnectedEv 1 1010 DISCONNECTED/DISCONNECTED c100 m132",
		"ConnDisconnectedEv 1 4000 DISCONNECTED/DISCONNECTED c100 m132",
		"CallCtlConnDisconnectedEv 1 4000 DISCONNECTED/DISCONNECTED c100 m132",
		"ConnDisconnectedEv 1 1015 DISCONNECTED/DISCONNECTED c100 m132",
		"CallCtlConnDisconnectedEv 1 1015 DISCONNECTED/DISCONNECTED c100 m132",
		"CallInvalidEv 1 c100 m132",
		"CallObservationEndedEv 1 c100 m132",
	}, got)
}

// A hunt-list call seen by the member that rings out: when the call moves
// on to a member this session does not observe, the pilot, the caller and
// the member leave with REDIRECTED and the call becomes invalid (JTAPI
// guide 15 p.1092: "ConnDisconnectedEv B ... getCallControlCause() =
// CAUSE.REDIRECTED ... CallInvalidEv"; the guide drops the pilot and the
// caller before the member, the model the member first).
func TestDialPlan_HuntListCallSeenByAMemberPassedOver(t *testing.T) {
	got := playScripted(t, dialPlanDir(), traffic.Hunt, "1010", "4000", "", "1014")
	diff(t, []string{
		"CallActiveEv 1 c100 m128",
		"CiscoHuntConnCreatedEv 1 4000 IDLE/IDLE c100 m128",
		"ConnConnectedEv 1 4000 CONNECTED/ESTABLISHED c100 m128",
		"CallCtlConnEstablishedEv 1 4000 CONNECTED/ESTABLISHED c100 m128",
		"ConnCreatedEv 1 1010 IDLE/IDLE c100 m128",
		"ConnConnectedEv 1 1010 CONNECTED/ESTABLISHED c100 m128",
		"CallCtlConnEstablishedEv 1 1010 CONNECTED/ESTABLISHED c100 m128",
		"ConnCreatedEv 1 1014 IDLE/IDLE c100 m128",
		"ConnInProgressEv 1 1014 INPROGRESS/OFFERED c100 m128",
		"CallCtlConnOfferedEv 1 1014 INPROGRESS/OFFERED c100 m128",
		"ConnAlertingEv 1 1014 ALERTING/ALERTING c100 m128",
		"CallCtlConnAlertingEv 1 1014 ALERTING/ALERTING c100 m128",
		"TermConnCreatedEv 1 1014@SEP1014 IDLE/IDLE c100 m128",
		"TermConnRingingEv 1 1014@SEP1014 RINGING/RINGING c100 m128",
		"CallCtlTermConnRingingEv 1 1014@SEP1014 RINGING/RINGING c100 m128",
		"TermConnDroppedEv 1 1014@SEP1014 DROPPED/DROPPED c100 m131",
		"CallCtlTermConnDroppedEv 1 1014@SEP1014 DROPPED/DROPPED c100/210 m131",
		"ConnDisconnectedEv 1 1014 DISCONNECTED/DISCONNECTED c100 m131",
		"CallCtlConnDisconnectedEv 1 1014 DISCONNECTED/DISCONNECTED c100/210 m131",
		"ConnDisconnectedEv 1 4000 DISCONNECTED/DISCONNECTED c100 m132",
		"CallCtlConnDisconnectedEv 1 4000 DISCONNECTED/DISCONNECTED c100/210 m132",
		"ConnDisconnectedEv 1 1010 DISCONNECTED/DISCONNECTED c100 m132",
		"CallCtlConnDisconnectedEv 1 1010 DISCONNECTED/DISCONNECTED c100/210 m132",
		"CallInvalidEv 1 c100 m132",
		"CallObservationEndedEv 1 c100 m132",
	}, got)
}
