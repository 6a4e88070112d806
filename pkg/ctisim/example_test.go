package ctisim_test

import (
	"fmt"
	"net"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/ctisim"
	"github.com/ctibridge/ctibridge/pkg/ctisim/traffic"
)

// A test starts the default cluster on free ports, opens a provider on the
// primary CTIManager and watches one scripted call.
func Example() {
	sim, err := ctisim.New(ctisim.Config{
		Cluster:    ctisim.DefaultCluster().WithEphemeralPorts(),
		Traffic:    traffic.Config{Seed: 1},
		ManualTime: true,
	})
	if err != nil {
		panic(err)
	}
	if err := sim.Start(); err != nil {
		panic(err)
	}
	defer sim.Close()

	nc, err := net.Dial("tcp", sim.Addr("ctim-a"))
	if err != nil {
		panic(err)
	}
	conn := ctilink.NewConn(nc, 0)
	defer conn.Close()
	_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	next := func() ctilink.Message {
		for {
			_, m, err := conn.Read()
			if err != nil {
				panic(err)
			}
			if m.Type() != ctilink.TypeHeartbeat {
				return m
			}
		}
	}
	_, _ = conn.Write(ctilink.ProviderOpenRequest{Login: "ctibridge", Password: "secret",
		DesiredServerHeartbeatMs: 10000, ProtocolVersions: []int{1}})
	resp := next().(ctilink.ProviderOpenResponse)
	done := next().(ctilink.ProviderOpenCompleted)
	fmt.Println("server heartbeat", resp.ServerHeartbeatMs, "ms; devices", done.TotalControllableDevices)

	_, _ = conn.Write(ctilink.LineOpenRequest{Device: "SEP001122330002", Line: "1002"})
	fmt.Println("line open:", next().(ctilink.Response).Result)

	_, _ = sim.Place(traffic.Basic, "1001", "1002", "")
	_ = sim.Advance(time.Minute)
	for i := 0; i < 4; i++ {
		ev := next().(ctilink.CallStateEvent)
		fmt.Println(ev.Line, ev.State, ev.Cause)
	}
	// Output:
	// server heartbeat 10000 ms; devices 322
	// line open: OK
	// 1002 OFFERING NOERROR
	// 1002 ACCEPTED NOERROR
	// 1002 CONNECTED NOERROR
	// 1002 DISCONNECTED NORMALCALLCLEARING
}
