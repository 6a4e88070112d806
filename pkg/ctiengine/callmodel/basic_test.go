package callmodel

import (
	"testing"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
)

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

// TestBasicCallBothControlled: jtapi-facts §12 "Basic call A→B" order,
// then the teardown.
func TestBasicCallBothControlled(t *testing.T) {
	got := run(t, controlled(lnA, lnB), basicCall(&wire{}))
	diff(t, []string{
		"CallActiveEv 1 c100 m128",
		"ConnCreatedEv 1 1001 IDLE/IDLE c100 m128",
		"ConnConnectedEv 1 1001 CONNECTED/INITIATED c100 m128",
		"CallCtlConnInitiatedEv 1 1001 CONNECTED/INITIATED c100 m128",
		"TermConnCreatedEv 1 1001@SEPA IDLE/IDLE c100 m128",
		"TermConnActiveEv 1 1001@SEPA ACTIVE/TALKING c100 m128",
		"CallCtlTermConnTalkingEv 1 1001@SEPA ACTIVE/TALKING c100 m128",
		"CallCtlConnDialingEv 1 1001 CONNECTED/DIALING c100 m128",
		"CallCtlConnEstablishedEv 1 1001 CONNECTED/ESTABLISHED c100 m128",
		"ConnCreatedEv 1 1002 IDLE/IDLE c100 m128",
		"ConnInProgressEv 1 1002 INPROGRESS/OFFERED c100 m128",
		"CallCtlConnOfferedEv 1 1002 INPROGRESS/OFFERED c100 m128",
		"ConnAlertingEv 1 1002 ALERTING/ALERTING c100 m128",
		"CallCtlConnAlertingEv 1 1002 ALERTING/ALERTING c100 m128",
		"TermConnCreatedEv 1 1002@SEPB IDLE/IDLE c100 m128",
		"TermConnRingingEv 1 1002@SEPB RINGING/RINGING c100 m128",
		"CallCtlTermConnRingingEv 1 1002@SEPB RINGING/RINGING c100 m128",
		// B answers; A's CONNECTED changes nothing (already ESTABLISHED).
		"ConnConnectedEv 1 1002 CONNECTED/ESTABLISHED c100 m129",
		"CallCtlConnEstablishedEv 1 1002 CONNECTED/ESTABLISHED c100 m129",
		"TermConnActiveEv 1 1002@SEPB ACTIVE/TALKING c100 m129",
		"CallCtlTermConnTalkingEv 1 1002@SEPB ACTIVE/TALKING c100 m129",
		// A hangs up; B stays until its own DISCONNECTED.
		"TermConnDroppedEv 1 1001@SEPA DROPPED/DROPPED c100 m132",
		"CallCtlTermConnDroppedEv 1 1001@SEPA DROPPED/DROPPED c100 m132",
		"ConnDisconnectedEv 1 1001 DISCONNECTED/DISCONNECTED c100 m132",
		"CallCtlConnDisconnectedEv 1 1001 DISCONNECTED/DISCONNECTED c100 m132",
		"TermConnDroppedEv 1 1002@SEPB DROPPED/DROPPED c100 m132",
		"CallCtlTermConnDroppedEv 1 1002@SEPB DROPPED/DROPPED c100 m132",
		"ConnDisconnectedEv 1 1002 DISCONNECTED/DISCONNECTED c100 m132",
		"CallCtlConnDisconnectedEv 1 1002 DISCONNECTED/DISCONNECTED c100 m132",
		"CallInvalidEv 1 c100 m132",
		"CallObservationEndedEv 1 c100 m132",
	}, got)
}
