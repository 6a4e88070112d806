package ctiengine_test

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctiengine"
	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/schema"
	"github.com/rs/zerolog"
)

// A bridge-like program: one provider over a primary, a backup and a
// least-priority CTIManager, a CTI port and a route point, events printed.
func Example() {
	eng, err := ctiengine.New(ctiengine.Config{
		CTIManagers: []ctiengine.CTIManager{
			{Name: "cucm-a", Addr: "10.0.0.1:2748", TLSAddr: "10.0.0.1:2749"},
			{Name: "cucm-b", Addr: "10.0.0.2:2748", TLSAddr: "10.0.0.2:2749"},
			{Name: "cucm-dr", Addr: "10.9.0.1:2748", TLSAddr: "10.9.0.1:2749", LeastPriority: true},
		},
		Login:          "ctibridge",
		Password:       os.Getenv("CTI_PASSWORD"),
		AppInfo:        "ctibridge",
		InstanceID:     "bridge-1",
		BridgeInstance: fmt.Sprintf("bridge-1-%d", time.Now().UnixNano()),
		TLS: ctiengine.TLSConfig{
			ClientCert: "/etc/ctibridge/bridge-1.pem",
			ClientKey:  "/etc/ctibridge/bridge-1-key.pem",
			TrustStore: "/var/lib/ctibridge/ctl.pem",
			RequireTLS: true,
		},
		CTIPorts: map[string]ctiengine.CTIPortConfig{
			"CTIP0001": {Media: ctilink.MediaParams{IP: "10.0.5.10", Port: 24000, Codecs: []string{"PCMU"}, PacketMs: 20}},
		},
		RoutePoints: map[string]ctiengine.RoutePointConfig{
			"5000": {Destinations: []string{"1001", "1002"}, Policy: ctiengine.RouteRoundRobin},
		},
		Sink: ctiengine.SinkFunc(func(ev schema.Event) {
			fmt.Println(ev.Session, ev.SessionSeq, ev.Family, ev.Entity, ev.Name)
		}),
		Logger: zerolog.New(os.Stderr).With().Timestamp().Logger(),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err) // every problem, each naming its field
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := eng.Run(ctx); err != nil && ctx.Err() == nil {
		fmt.Fprintln(os.Stderr, "provider shut down:", err)
	}
}
