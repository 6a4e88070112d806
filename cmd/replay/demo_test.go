package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/cmd/replay/internal/timeline"
	"github.com/ctibridge/ctibridge/internal/demo"
	"github.com/ctibridge/ctibridge/internal/demo/demotest"
	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/replaystore/storetest"
	"github.com/rs/zerolog"
)

// TestDemoEndToEnd runs `bridge demo` in-process with a primary CTIManager
// failure, then reads the store it left behind as a user would: the
// timeline tells the failover in the engine's order, the state at the end of
// the log equals what the simulator's ground truth says was up, the export
// has every stored event, and the report is well-formed.
func TestDemoEndToEnd(t *testing.T) {
	// The server heartbeat of the demo's CTIManagers. One second, not
	// less: the default cluster brings a few hundred devices into service
	// at every failover, and under the race detector on a loaded runner
	// the bridge can be busy with that wave for longer than two 500ms
	// client heartbeats, which makes the CTIManager close the provider a
	// second time in the middle of the story this test reads.
	const heartbeat = time.Second
	if testing.Short() {
		t.Skip("runs the demo for several seconds")
	}
	dir := t.TempDir()
	var out bytes.Buffer
	err := demotest.RunFailover(t, demo.Options{
		DataDir: dir, NATSListen: "127.0.0.1:0", HTTPListen: "127.0.0.1:0", Heartbeat: heartbeat,
		Seed: 7, Rate: 6, Cluster: "lab", Mode: "binary", Instance: "replay-e2e",
		Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel), Out: &out,
	}, nil)
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}

	// The timeline, in the order of PRODUCT.md §3.3 rule 3.
	code, js, errs := replay(t, "--store", dir, "timeline", "--json")
	if code != 0 {
		t.Fatalf("timeline: exit %d %s", code, errs)
	}
	var entries []timeline.Entry
	if err := json.Unmarshal([]byte(js), &entries); err != nil {
		t.Fatal(err)
	}
	var story []string
	for _, e := range entries {
		if e.Failover == 1 {
			story = append(story, e.Event)
		}
	}
	want := []string{"CTIManagerLost", "CiscoAddrOutOfServiceEv", "CiscoTermOutOfServiceEv", "ProvOutOfServiceEv", "GapOpened",
		"CTIManagerConnecting", "CTIManagerConnected", "ProvInServiceEv", "CiscoAddrInServiceEv", "CiscoTermInServiceEv", "GapClosed"}
	if !isSubsequence(want, story) {
		t.Fatalf("failover story %v does not follow %v", story, want)
	}
	if i, j := slices.Index(story, "CallObservationEndedEv"), slices.Index(story, "CiscoAddrOutOfServiceEv"); i >= 0 && i > j {
		t.Errorf("CallObservationEndedEv after the out-of-service wave: %v", story)
	}
	// The demo stalls the primary: the loss is HEARTBEAT_MISSED, detected
	// about two server heartbeat intervals (2 × heartbeat) after the last
	// heartbeat heard.
	var last, lost time.Time
	reason := ""
	for _, e := range entries {
		switch {
		case e.Failover == 1 && e.Event == "LastHeartbeat":
			last = e.Time
		case e.Failover == 1 && e.Event == "CTIManagerLost":
			lost, reason = e.Time, e.Reason
		}
	}
	if d := lost.Sub(last); reason == "HEARTBEAT_MISSED" && (d < 2*heartbeat || d > 2*heartbeat+500*time.Millisecond) {
		t.Errorf("HEARTBEAT_MISSED detected %s after the last heartbeat, want ≈ %s (2 × %s)", d, 2*heartbeat, heartbeat)
	}
	if last.IsZero() || lost.IsZero() {
		t.Errorf("no LastHeartbeat/CTIManagerLost in %v", story)
	}
	// The waves the engine recorded in GapClosed are the ones the stored
	// events show (nothing was dropped), counted the same way.
	code, js, errs = replay(t, "--store", dir, "timeline", "--json", "--waves-from-log")
	if code != 0 {
		t.Fatalf("timeline --waves-from-log: exit %d %s", code, errs)
	}
	var fromLog []timeline.Entry
	if err := json.Unmarshal([]byte(js), &fromLog); err != nil {
		t.Fatal(err)
	}
	recorded := 0
	for _, e := range entries {
		if e.Failover == 1 && e.Derived && e.Until != nil {
			recorded++
		}
	}
	if recorded < 4 {
		t.Errorf("failover 1 has %d recorded waves, want the out-of-service and in-service waves at least: %v", recorded, story)
	}
	if len(fromLog) != len(entries) {
		t.Fatalf("%d entries with --waves-from-log, %d from the recorded waves", len(fromLog), len(entries))
	}
	for i := range entries {
		g, w := entries[i], fromLog[i]
		if g.Derived && g.Until != nil {
			w.Seq = 0 // a recorded wave has no stream position
		}
		if gj, wj := mustJSON(t, g), mustJSON(t, w); gj != wj {
			t.Errorf("entry %d from the recorded waves:\n%s\nfrom the log:\n%s", i, gj, wj)
		}
	}

	// The state at the end of the log against the simulator's ground
	// truth: the same calls, each with the same lines up.
	code, js, errs = replay(t, "--store", dir, "state", "--json")
	if code != 0 {
		t.Fatalf("state: exit %d %s", code, errs)
	}
	var doc stateJSON
	if err := json.Unmarshal([]byte(js), &doc); err != nil {
		t.Fatal(err)
	}
	truth, lines := groundTruth(t, filepath.Join(dir, "groundtruth.jsonl"))
	got := map[string][]string{}
	for _, c := range doc.Calls {
		for _, cn := range c.Connections {
			// A busy party's connection is FAILED (JTAPI's busy
			// treatment) without a leg of its own: not a line up.
			if !cn.Transient && lines[cn.Address] && cn.State != "FAILED" {
				got[c.ID] = append(got[c.ID], cn.Address)
			}
		}
	}
	for id := range got {
		sort.Strings(got[id])
	}
	if fmt.Sprint(got) != fmt.Sprint(truth) {
		t.Errorf("calls at the end of the log\n folded: %v\n  truth: %v", got, truth)
	}
	if len(truth) == 0 {
		t.Error("the demo left no call up: the comparison proves little (raise the rate)")
	}

	// Export: one valid line per stored event.
	code, js, _ = replay(t, "--store", dir, "export", "--format", "jsonl")
	if n := strings.Count(js, "\n"); code != 0 || uint64(n) != doc.Seq {
		t.Errorf("export: exit %d, %d lines for %d events", code, n, doc.Seq)
	}
	file := filepath.Join(t.TempDir(), "out.html")
	if code, _, errs := replay(t, "--store", dir, "report", "--html", file); code != 0 {
		t.Fatalf("report: exit %d %s", code, errs)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, b, "ctim-a", "ctim-b")

	// state --at agrees with the timeline at every instant of the
	// failover. Served by one server for the sweep's many queries.
	_, nc := storetest.StartServer(t, dir)
	sweepFailover(t, []string{"--server", nc.ConnectedUrl()}, entries)
}

func isSubsequence(want, got []string) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}

// groundTruth replays the simulator's ground-truth log (every frame sent to
// the bridge's sessions) into the calls that were up at the end: per call,
// the lines whose last state is neither IDLE nor DISCONNECTED. A new
// session (after the failover) forgets the legs it does not report again
// (the snapshot lists the legs that still exist); CallChanged moves a leg
// to the surviving call. It also returns the lines the bridge observes.
func groundTruth(t *testing.T, path string) (map[string][]string, map[string]bool) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type leg struct {
		call uint32
		line string
	}
	live := map[leg]ctilink.CallState{}
	lines := map[string]bool{}
	routePoints := map[string]bool{}
	session := ""
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var fr struct {
			Session string          `json:"session"`
			Type    string          `json:"type"`
			Sent    bool            `json:"sent"`
			Body    json.RawMessage `json:"body"`
		}
		if err := json.Unmarshal(sc.Bytes(), &fr); err != nil {
			t.Fatalf("ground truth: %v", err)
		}
		if !fr.Sent {
			continue
		}
		if fr.Session != session {
			if session != "" {
				// A new session: the legs are known again only through it.
				for k := range live {
					if !routePoints[k.line] {
						delete(live, k)
					}
				}
			}
			session = fr.Session
		}
		switch fr.Type {
		case "DeviceListResponse":
			var b ctilink.DeviceListResponse
			if err := json.Unmarshal(fr.Body, &b); err != nil {
				t.Fatal(err)
			}
			for _, d := range b.Devices {
				for _, l := range d.Lines {
					if d.Type == ctilink.DeviceRoutePoint {
						routePoints[l.DN] = true
						continue
					}
					lines[l.DN] = true
				}
			}
		case "CallState":
			var b ctilink.CallStateEvent
			if err := json.Unmarshal(fr.Body, &b); err != nil {
				t.Fatal(err)
			}
			k := leg{b.GlobalCallID, b.Line}
			if b.State == ctilink.CallStateDisconnected || b.State == ctilink.CallStateIdle {
				delete(live, k)
			} else {
				live[k] = b.State
			}
		case "CallChanged":
			var b ctilink.CallChangedEvent
			if err := json.Unmarshal(fr.Body, &b); err != nil {
				t.Fatal(err)
			}
			from, to := leg{b.OriginalCallID, b.Line}, leg{b.SurvivingCall, b.Line}
			if st, ok := live[from]; ok {
				delete(live, from)
				live[to] = st
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for k := range live {
		if lines[k.line] {
			id := strconv.FormatUint(uint64(k.call), 10)
			out[id] = append(out[id], k.line)
		}
	}
	for id := range out {
		sort.Strings(out[id])
	}
	return out, lines
}
