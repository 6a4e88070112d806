package ctiengine

import (
	"github.com/ctibridge/ctibridge/internal/testwait"
	"strings"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/ctisim"
	"github.com/ctibridge/ctibridge/pkg/ctisim/traffic"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// token renders an event for subsequence matching: Name@address for
// connection-level call events, Name(entity) otherwise.
func token(ev schema.Event) string {
	if c := ev.Data.Call; c != nil {
		switch {
		case c.Connection != nil:
			return ev.Name + "@" + c.Connection.Address
		case c.TerminalConnection != nil:
			return ev.Name + "@" + c.TerminalConnection.Address
		}
		return ev.Name
	}
	return ev.Name + "(" + ev.Entity + ")"
}

// subsequence reports the first wanted token not found in order.
func subsequence(evs []schema.Event, want []string) (missing string, ok bool) {
	i := 0
	for _, ev := range evs {
		if i < len(want) && token(ev) == want[i] {
			i++
		}
	}
	if i < len(want) {
		return want[i], false
	}
	return "", true
}

// quiesce waits until the engine has handled every frame the simulator
// sent to its session.
func (e *env) quiesce() {
	e.t.Helper()
	var sent uint64
	caughtUp := func() bool {
		sent = 0
		queued := 0
		sess := e.srv.Sessions()
		for _, s := range sess {
			queued += s.Queued
			for _, r := range e.srv.GroundTruth(s.ID) {
				if r.Sent {
					sent++
				}
			}
		}
		return queued == 0 && e.eng.Status().Counters.FramesIn >= sent && len(sess) > 0
	}
	if !testwait.Poll(waitBound, caughtUp) {
		e.t.Fatalf("engine did not catch up with the simulator (%d frames sent)", sent)
	}
}

// TestScenarios_JTAPISequencesEndToEnd runs every call scenario of the
// simulator through the engine over TCP and checks the JTAPI events of
// both (all) parties, in order, from the first event of the call to the
// last (CallObservationEndedEv).
func TestScenarios_JTAPISequencesEndToEnd(t *testing.T) {
	srv := newSim(t, func(c *ctisim.Config) {
		c.Traffic.TalkTime, c.Traffic.TalkTimeMax = 3*time.Second, 3*time.Second
		c.Traffic.HoldTime, c.Traffic.HoldTimeMax = time.Second, time.Second
	})
	cfg := simConfig(srv, "ctim-a")
	cfg.CTIPorts = map[string]CTIPortConfig{"CTIP0001": {Media: ctilink.MediaParams{IP: "10.1.2.3", Port: 24000, Codecs: []string{"PCMU"}, PacketMs: 20}}}
	cfg.RoutePoints = map[string]RoutePointConfig{"5000": {Destinations: []string{"1010"}}}
	e := startEngine(t, srv, cfg, false)
	e.waitStatus("provider up", upOn("ctim-a"))

	for _, tc := range []struct {
		scenario        traffic.Scenario
		from, to, third string
		want            []string
		never           []string
	}{
		{traffic.Basic, "1001", "1002", "", []string{
			"CallActiveEv", "ConnCreatedEv@1001", "ConnConnectedEv@1001", "CallCtlConnInitiatedEv@1001",
			"TermConnCreatedEv@1001", "TermConnActiveEv@1001", "CallCtlTermConnTalkingEv@1001",
			"CallCtlConnDialingEv@1001", "CallCtlConnEstablishedEv@1001",
			"ConnCreatedEv@1002", "ConnInProgressEv@1002", "CallCtlConnOfferedEv@1002", "ConnAlertingEv@1002",
			"CallCtlConnAlertingEv@1002", "TermConnCreatedEv@1002", "TermConnRingingEv@1002", "CallCtlTermConnRingingEv@1002",
			"ConnConnectedEv@1002", "CallCtlConnEstablishedEv@1002", "TermConnActiveEv@1002", "CallCtlTermConnTalkingEv@1002",
			"ConnDisconnectedEv@1001", "CallCtlConnDisconnectedEv@1001", "ConnDisconnectedEv@1002", "CallCtlConnDisconnectedEv@1002",
			"CallInvalidEv", "CallObservationEndedEv"}, nil},
		{traffic.NoAnswer, "1003", "1004", "", []string{
			"CallActiveEv", "CallCtlConnEstablishedEv@1003", "CallCtlConnOfferedEv@1004", "CallCtlConnAlertingEv@1004",
			"CallCtlTermConnRingingEv@1004", "CallCtlConnDisconnectedEv@1003", "CallCtlConnDisconnectedEv@1004",
			"CallInvalidEv", "CallObservationEndedEv"}, []string{"CallCtlConnEstablishedEv@1004"}},
		{traffic.Busy, "1006", "1007", "", []string{
			"CallActiveEv", "CallCtlConnEstablishedEv@1006", "ConnFailedEv@1007", "CallCtlConnFailedEv@1007",
			"CallCtlConnDisconnectedEv@1006", "CallInvalidEv", "CallObservationEndedEv"},
			[]string{"CallCtlConnAlertingEv@1007", "CallCtlConnEstablishedEv@1007"}},
		{traffic.Hold, "1008", "1009", "", []string{
			"CallCtlConnEstablishedEv@1009", "CallCtlTermConnHeldEv@1008", "CallCtlTermConnTalkingEv@1008",
			"CallCtlConnDisconnectedEv@1008", "CallCtlConnDisconnectedEv@1009", "CallInvalidEv", "CallObservationEndedEv"}, nil},
		{traffic.BlindTransfer, "1011", "1012", "1013", []string{
			"CallCtlConnEstablishedEv@1012", "CallCtlConnAlertingEv@1013", "CiscoTransferStartEv", "CallCtlConnDisconnectedEv@1012",
			"CallCtlConnAlertingEv@1013", "CallCtlConnDisconnectedEv@1012", "CallCtlConnDisconnectedEv@1013", "CallInvalidEv",
			"CiscoTransferEndEv", "CallCtlConnEstablishedEv@1013",
			"CallCtlConnDisconnectedEv@1011", "CallCtlConnDisconnectedEv@1013", "CallInvalidEv", "CallObservationEndedEv"}, nil},
		{traffic.ConsultTransfer, "1014", "1016", "1017", []string{
			"CallCtlConnEstablishedEv@1016", "CallCtlConnEstablishedEv@1017", "CiscoTransferStartEv", "CallCtlConnDisconnectedEv@1016",
			"CallCtlConnEstablishedEv@1017", "CallCtlConnDisconnectedEv@1016", "CallCtlConnDisconnectedEv@1017", "CallInvalidEv",
			"CiscoTransferEndEv",
			"CallCtlConnDisconnectedEv@1014", "CallCtlConnDisconnectedEv@1017", "CallInvalidEv", "CallObservationEndedEv"}, nil},
		{traffic.Conference, "1018", "1019", "1021", []string{
			"CallCtlConnEstablishedEv@1019", "CallCtlConnEstablishedEv@1021", "CiscoConferenceStartEv", "CallCtlTermConnTalkingEv@1019",
			"CallCtlConnEstablishedEv@1021", "CallCtlConnDisconnectedEv@1019", "CallCtlConnDisconnectedEv@1021", "CallInvalidEv",
			"CiscoConferenceEndEv",
			"CallCtlConnDisconnectedEv@1018", "CallCtlConnDisconnectedEv@1019", "CallCtlConnDisconnectedEv@1021",
			"CallInvalidEv", "CallObservationEndedEv"}, nil},
		{traffic.RoutePoint, "1022", "5000", "", []string{
			"CallCtlConnEstablishedEv@1022", "CallCtlConnOfferedEv@5000", "RouteEvent(5000)", "RouteUsedEvent(5000)",
			"CallCtlConnDisconnectedEv@5000", "CallCtlConnOfferedEv@1010", "CallCtlConnAlertingEv@1010", "RouteEndEvent(5000)",
			"CallCtlConnEstablishedEv@1010", "CallCtlConnDisconnectedEv@1022", "CallCtlConnDisconnectedEv@1010",
			"CallInvalidEv", "CallObservationEndedEv"}, nil},
		{traffic.CTIPort, "1023", "7001", "", []string{
			"CallCtlConnOfferedEv@7001", "CallCtlConnEstablishedEv@7001", "CiscoRTPOutputStartedEv(CTIP0001)",
			"CiscoRTPInputStartedEv(CTIP0001)", "CiscoRTPOutputStoppedEv(CTIP0001)", "CiscoRTPInputStoppedEv(CTIP0001)",
			"CallCtlConnDisconnectedEv@1023", "CallCtlConnDisconnectedEv@7001", "CallInvalidEv", "CallObservationEndedEv"}, nil},
		{traffic.Transform, "1024", "1025", "", []string{
			"CallCtlConnEstablishedEv@1024", "ConnCreatedEv@800551024", "CallCtlConnOfferedEv@1025",
			"ConnDisconnectedEv@800551024", "CallCtlConnEstablishedEv@1025", "CallCtlConnDisconnectedEv@1024",
			"CallCtlConnDisconnectedEv@1025", "CallInvalidEv", "CallObservationEndedEv"}, nil},
	} {
		t.Run(string(tc.scenario), func(t *testing.T) {
			e.t = t
			mark := len(e.sink.events())
			if _, err := srv.Place(tc.scenario, tc.from, tc.to, tc.third); err != nil {
				t.Fatal(err)
			}
			// Step model time in small increments and let the engine
			// answer (route selection) before time moves on.
			for i := 0; i < 240 && (i < 8 || srv.ActiveCalls() > 0); i++ {
				e.quiesce()
				simAdvance(t, srv, 250*time.Millisecond)
			}
			e.quiesce()
			evs := since(e.sink.events(), mark)
			if missing, ok := subsequence(evs, tc.want); !ok {
				var toks []string
				for _, ev := range evs {
					toks = append(toks, token(ev))
				}
				t.Fatalf("%s: %s missing from the expected order; events:\n  %s", tc.scenario, missing, strings.Join(toks, "\n  "))
			}
			for _, ev := range evs {
				for _, n := range tc.never {
					if token(ev) == n {
						t.Fatalf("%s: unexpected %s", tc.scenario, n)
					}
				}
			}
			if srv.ActiveCalls() != 0 || e.eng.Status().Calls != 0 {
				t.Fatalf("calls left: simulator %d, engine %d", srv.ActiveCalls(), e.eng.Status().Calls)
			}
		})
	}
}
