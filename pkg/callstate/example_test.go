package callstate_test

import (
	"fmt"
	"time"

	"github.com/ctibridge/ctibridge/pkg/callstate"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// ExampleState folds the events of a basic call A→B as a consumer would
// receive them (decoded with schema.Decode from the stream) and queries
// the result.
func ExampleState() {
	at := time.Date(2026, 11, 20, 14, 2, 17, 0, time.UTC)
	conn := func(name, addr string, cc int) schema.Event {
		return schema.Event{
			Family: schema.FamilyCall, Entity: "4711", Name: name, Time: at,
			Data: schema.Data{Call: &schema.CallData{
				CallID:  "4711",
				Calling: &schema.Party{Address: "1001"}, Called: &schema.Party{Address: "1002"},
				Connection: &schema.ConnectionData{
					Address:   addr,
					StateCode: schema.CoreConnState(cc), CallControlStateCode: cc,
				},
			}},
		}
	}
	st := callstate.New()
	for _, ev := range []schema.Event{
		{Family: schema.FamilyProvider, Name: schema.EvProvInService, Time: at,
			Data: schema.Data{Provider: &schema.ProviderData{State: "IN_SERVICE", StateCode: 16, CTIManager: "cucm-pub"}}},
		{Family: schema.FamilyCall, Entity: "4711", Name: schema.EvCallActive, Time: at},
		conn(schema.EvCallCtlConnEstablished, "1001", schema.CCConnEstablished),
		conn(schema.EvCallCtlConnAlerting, "1002", schema.CCConnAlerting),
	} {
		st.Apply(ev)
	}

	p := st.Provider()
	fmt.Println("provider:", p.State, "on", p.CTIManager)
	for _, c := range st.Calls() {
		fmt.Println("call", c.ID, "from", c.Calling.Address, "to", c.Called.Address, "parties", c.Parties())
		for _, cn := range c.Connections {
			fmt.Printf("  %s %s/%s\n", cn.Address, cn.State, cn.CallControlState)
		}
	}
	// Output:
	// provider: IN_SERVICE on cucm-pub
	// call 4711 from 1001 to 1002 parties [1001 1002]
	//   1001 CONNECTED/ESTABLISHED
	//   1002 ALERTING/ALERTING
}
