package ctiengine

import (
	"testing"

	"github.com/ctibridge/ctibridge/pkg/schema"
)

// Rule 1: the provider open is two-phase; the provider is OUT_OF_SERVICE
// until the open completed, the device list is known and the devices are
// opened, then ProvInServiceEv.
func TestRule1_ProviderOpenIsTwoPhase(t *testing.T) {
	srv := newSim(t, nil)
	e := startEngine(t, srv, simConfig(srv, "ctim-a", "ctim-b"), false)
	e.waitStatus("provider up on ctim-a", upOn("ctim-a"))
	evs := e.sink.events()

	inSvc := index(evs, schema.EvProvInService, 0)
	eqStrings(t, "provider events up to in service", names(evs[:inSvc+1]),
		[]string{"CTIManagerConnecting", "CTIManagerConnected", "ProvInServiceEv"})
	conn := evs[1].Data.Provider
	if conn.CTIManager != "ctim-a" || conn.ServerHeartbeatMs != 30000 || conn.ProviderID == "" {
		t.Fatalf("CTIManagerConnected = %+v", conn)
	}
	for _, ev := range evs[:inSvc] {
		if ev.Data.Provider == nil || ev.Data.Provider.State != "OUT_OF_SERVICE" {
			t.Fatalf("%s reported provider %v before ProvInServiceEv", ev.Name, ev.Data.Provider)
		}
	}
	// Every device of the control list is known and observed.
	st := e.eng.Status()
	if !st.Ready || st.Devices != 56 || st.DevicesObserved != 56 || st.Lines != 66 || st.DevicesInService != 56 {
		t.Fatalf("status %+v", st)
	}
	if got := evs[inSvc].Data.Provider.Devices; got != 56 {
		t.Fatalf("ProvInServiceEv devices %d", got)
	}
	if n := count(evs, schema.EvCiscoTermInService); n != 56 {
		t.Fatalf("%d CiscoTermInServiceEv, want 56", n)
	}
	if n := count(evs, schema.EvCiscoAddrInService); n != 66 {
		t.Fatalf("%d CiscoAddrInServiceEv, want 66", n)
	}

	// On the wire (the simulator's ground truth): the synchronous open
	// response, then the asynchronous completion, then the device list,
	// then one Response per open before anything else.
	sess := srv.Sessions()
	if len(sess) != 1 || !sess[0].Open || sess[0].Devices != 56 || sess[0].Lines != 66 {
		t.Fatalf("simulator sessions %+v", sess)
	}
	var types []string
	for _, r := range srv.GroundTruth(sess[0].ID) {
		if r.Type != "Heartbeat" && (len(types) == 0 || types[len(types)-1] != r.Type) {
			types = append(types, r.Type)
		}
	}
	eqStrings(t, "frames the CTIManager sent (runs collapsed)", types[:4],
		[]string{"ProviderOpenResponse", "ProviderOpenCompleted", "DeviceListResponse", "Response"})
}
