package stateview_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ctibridge/ctibridge/pkg/schema"
	"github.com/ctibridge/ctibridge/pkg/stateview"
)

// A desktop or screen-pop service follows one line: the watch delivers
// the key's current value first (the line's calls now), then every change.
// The live call events of the line, for the details between two values,
// are a core subscription on schema.LineFilter.
func Example_watchLine() {
	ctx := context.Background()
	nc, err := nats.Connect("nats://127.0.0.1:4222")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	kv, err := js.KeyValue(ctx, "cti-state")
	if err != nil {
		fmt.Println(err)
		return
	}
	w, err := kv.Watch(ctx, schema.LineKey("1001")) // "line.1001"
	if err != nil {
		fmt.Println(err)
		return
	}
	defer w.Stop()
	for e := range w.Updates() {
		if e == nil {
			continue // the current value has been delivered; changes follow
		}
		var line stateview.Line
		if err := json.Unmarshal(e.Value(), &line); err != nil {
			continue
		}
		fmt.Printf("line %s %s: %d call(s)\n", line.DN, line.State, len(line.Calls))
		for _, c := range line.Calls {
			if c.Connection.State == "ALERTING" && c.CurrentCalling != nil {
				fmt.Printf("  ringing: call %s from %s\n", c.ID, c.CurrentCalling.Address)
			}
		}
	}
}
