package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/callstate"
	"github.com/ctibridge/ctibridge/pkg/replaystore/storetest"
)

// The example folds a log with a failover and prints the same call count
// as folding the events directly.
func TestConsumerExample(t *testing.T) {
	srv, nc := storetest.StartServer(t, t.TempDir())
	js := storetest.CreateEventStream(t, nc, "CTI")
	evs := storetest.SyntheticLog(storetest.LogConfig{Events: 2000, Failovers: []int{1000}})
	storetest.Publish(t, js, "lab", evs)
	want := callstate.New()
	for _, ev := range evs {
		want.Apply(ev)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	err := run(ctx, []string{"--server", srv.ClientURL(), "--cluster", "lab", "--every", "1h", "--stop-after", "2000"}, &out)
	if err != nil {
		t.Fatal(err)
	}
	line := strings.TrimSpace(out.String())
	sum := want.Summary()
	for _, frag := range []string{
		fmt.Sprintf("calls %3d", sum.Calls),
		"provider IN_SERVICE",
		"events 2000",
		"on cucm-sub1",
	} {
		if !strings.Contains(line, frag) {
			t.Errorf("output %q lacks %q", line, frag)
		}
	}
}
