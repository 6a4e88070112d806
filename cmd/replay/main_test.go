package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/ctibridge/ctibridge/cmd/replay/internal/timeline"
	"github.com/ctibridge/ctibridge/pkg/callstate"
	"github.com/ctibridge/ctibridge/pkg/replaystore"
	"github.com/ctibridge/ctibridge/pkg/replaystore/storetest"
	"github.com/ctibridge/ctibridge/pkg/schema"
	"github.com/nats-io/nats.go"
)

const (
	fixtureEvents   = 3000
	fixtureFailover = 1500
	snapEvery       = 500
)

// fixture is a server holding a synthetic log with one failover, and
// snapshots every 500 events.
type fixture struct {
	url string
	nc  *nats.Conn
	evs []schema.Event
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	_, nc := storetest.StartServer(t, t.TempDir())
	js := storetest.CreateEventStream(t, nc, "CTI")
	evs := storetest.SyntheticLog(storetest.LogConfig{Events: fixtureEvents, Lines: 24, Failovers: []int{fixtureFailover}})
	storetest.Publish(t, js, "lab", evs)
	f := &fixture{url: nc.ConnectedUrl(), nc: nc, evs: evs}
	f.snapshot(t)
	return f
}

// snapshot runs a Snapshotter until it covered the whole log.
func (f *fixture) snapshot(t *testing.T) {
	t.Helper()
	done := make(chan struct{})
	var once sync.Once
	sn, err := replaystore.NewSnapshotter(replaystore.SnapshotterConfig{Conn: f.nc, Cluster: "lab", Every: snapEvery, Interval: -1,
		OnSnapshot: func(i replaystore.SnapshotInfo) {
			if i.Seq >= uint64(len(f.evs)) {
				once.Do(func() { close(done) })
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- sn.Run(ctx) }()
	select {
	case <-done:
	case err := <-errc:
		t.Fatalf("snapshotter: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("snapshots not written within 60s")
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// replay runs the command line and returns the exit code and outputs.
func replay(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	code := run(ctx, args, &out, &errb, false)
	return code, out.String(), errb.String()
}

func (f *fixture) fold(n int) *callstate.State {
	st := callstate.New()
	for _, ev := range f.evs[:n] {
		st.Apply(ev)
	}
	return st
}

func callIDs(calls []callstate.Call) []string {
	var out []string
	for _, c := range calls {
		out = append(out, c.ID)
	}
	return out
}

func TestCLI(t *testing.T) {
	f := newFixture(t)
	srv := []string{"--server", f.url}

	t.Run("timeline json", func(t *testing.T) {
		code, out, errs := replay(t, append(srv, "timeline", "--json")...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		var entries []map[string]any
		if err := json.Unmarshal([]byte(out), &entries); err != nil {
			t.Fatalf("timeline --json is not a JSON array: %v\n%s", err, out)
		}
		var evs []string
		for i, e := range entries {
			if _, ok := e["time"].(string); !ok {
				t.Errorf("entry %d has no time: %v", i, e)
			}
			name, ok := e["event"].(string)
			if !ok || name == "" {
				t.Errorf("entry %d has no event: %v", i, e)
			}
			evs = append(evs, name)
		}
		want := []string{"LastHeartbeat", "CTIManagerLost", "CallObservationEndedEv", "CiscoAddrOutOfServiceEv", "CiscoTermOutOfServiceEv",
			"ProvOutOfServiceEv", "GapOpened", "CTIManagerConnecting", "CTIManagerConnected", "ProvInServiceEv",
			"CiscoAddrInServiceEv", "CiscoTermInServiceEv", "Snapshot", "CallEndedDuringGap", "GapClosed"}
		i := slices.Index(evs, "LastHeartbeat")
		if i < 0 || len(evs) < i+len(want) || !slices.Equal(evs[i:i+len(want)], want) {
			t.Fatalf("timeline order\n got %v\nwant …%v", evs, want)
		}
		// Detection ≈ 2 × heartbeat after the last heartbeat.
		var last, lost time.Time
		for _, e := range entries {
			tm, _ := time.Parse(time.RFC3339Nano, e["time"].(string))
			switch e["event"] {
			case "LastHeartbeat":
				last = tm
			case "CTIManagerLost":
				lost = tm
			}
		}
		if d := lost.Sub(last); d < 2*time.Second || d > 2100*time.Millisecond {
			t.Errorf("detection %s after the last heartbeat, want ≈ 2s (heartbeat 1s)", d)
		}
	})

	t.Run("timeline without waves", func(t *testing.T) {
		// The fixture's GapClosed carries the recorded waves: --no-waves
		// reads no window and still tells them.
		code, out, errs := replay(t, append(srv, "timeline", "--no-waves", "--json")...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		var entries []timeline.Entry
		if err := json.Unmarshal([]byte(out), &entries); err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Event)
		}
		if !isSubsequence([]string{"LastHeartbeat", "CTIManagerLost", "CiscoAddrOutOfServiceEv", "ProvOutOfServiceEv", "GapOpened", "ProvInServiceEv", "CiscoAddrInServiceEv", "GapClosed"}, names) {
			t.Errorf("--no-waves entries: %v", names)
		}
		if code, _, errs := replay(t, append(srv, "timeline", "--no-waves", "--waves-from-log")...); code != exitUsage {
			t.Errorf("--no-waves --waves-from-log: exit %d (%s), want %d", code, errs, exitUsage)
		}
	})

	t.Run("timeline table", func(t *testing.T) {
		code, out, errs := replay(t, append(srv, "timeline")...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		for _, want := range []string{"HEARTBEAT_MISSED", "Failover 1: cucm-pub → cucm-sub1", "CiscoAddrOutOfServiceEv ×24", "last heard", "ended during the gap"} {
			if !strings.Contains(out, want) {
				t.Errorf("timeline table lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("state before and after the failover", func(t *testing.T) {
		lostSeq, gapSeq, closedSeq := 0, 0, 0
		for i, ev := range f.evs {
			switch ev.Name {
			case schema.EvCTIManagerLost:
				lostSeq = i + 1
			case schema.EvGapOpened:
				gapSeq = i + 1
			case schema.EvGapClosed:
				closedSeq = i + 1
			}
		}
		before := replaystore.EventTime(&f.evs[lostSeq-31])
		after := replaystore.EventTime(&f.evs[closedSeq+19])
		for _, tc := range []struct {
			name string
			at   time.Time
		}{{"before", before}, {"after", after}} {
			code, out, errs := replay(t, append(srv, "state", "--at", tc.at.Format(time.RFC3339Nano), "--json")...)
			if code != 0 {
				t.Fatalf("%s: exit %d: %s", tc.name, code, errs)
			}
			var doc stateJSON
			if err := json.Unmarshal([]byte(out), &doc); err != nil {
				t.Fatal(err)
			}
			// Every event that happened up to then (the synthetic log is
			// stored in the order it happened).
			n := 0
			for n < len(f.evs) && !replaystore.EventTime(&f.evs[n]).After(tc.at) {
				n++
			}
			want := f.fold(n)
			if !slices.Equal(callIDs(doc.Calls), callIDs(want.Calls())) || doc.Seq != uint64(n) {
				t.Errorf("%s: calls %v at seq %d, want %v at seq %d", tc.name, callIDs(doc.Calls), doc.Seq, callIDs(want.Calls()), n)
			}
			if doc.EventsFolded >= snapEvery || doc.EventsRead > doc.EventsFolded+replaystore.ReorderSpan {
				t.Errorf("%s: folded %d of %d events read, want fewer than the snapshot interval %d, and at most %d read past the point",
					tc.name, doc.EventsFolded, doc.EventsRead, snapEvery, replaystore.ReorderSpan)
			}
			if doc.Provider.State != "IN_SERVICE" {
				t.Errorf("%s: provider %s", tc.name, doc.Provider.State)
			}
			wantMgr := map[string]string{"before": "cucm-pub", "after": "cucm-sub1"}[tc.name]
			if doc.Provider.CTIManager != wantMgr {
				t.Errorf("%s: provider on %s, want %s", tc.name, doc.Provider.CTIManager, wantMgr)
			}
		}
		// During the gap: everything out of service, calls unobserved.
		code, out, _ := replay(t, append(srv, "state", "--seq", itoa(gapSeq), "--json")...)
		var doc stateJSON
		if code != 0 || json.Unmarshal([]byte(out), &doc) != nil {
			t.Fatalf("state during the gap: exit %d", code)
		}
		if doc.Summary.TerminalsOOS != 24 || doc.Summary.AddressesOOS != 24 || doc.Provider.State != "OUT_OF_SERVICE" || doc.Summary.UnobservedCalls != doc.Summary.Calls {
			t.Errorf("during the gap: %+v provider %s", doc.Summary, doc.Provider.State)
		}
		// The table form.
		code, out, _ = replay(t, append(srv, "state", "--at", "+1s")...)
		if code != 0 || !strings.Contains(out, "Provider") || !strings.Contains(out, "CALLS (") {
			t.Errorf("state table: exit %d\n%s", code, out)
		}
	})

	t.Run("call history", func(t *testing.T) {
		id := ""
		for _, ev := range f.evs {
			if ev.Name == schema.EvCallInvalid {
				id = ev.Entity
				break
			}
		}
		code, out, errs := replay(t, append(srv, "call", id)...)
		if code != 0 || !strings.Contains(out, "CallActiveEv") || !strings.Contains(out, "has ended") {
			t.Errorf("call %s: exit %d %s\n%s", id, code, errs, out)
		}
		code, out, _ = replay(t, append(srv, "call", id, "--json")...)
		var doc struct {
			Events []callEventJSON `json:"events"`
			Active bool            `json:"active"`
		}
		if code != 0 || json.Unmarshal([]byte(out), &doc) != nil || doc.Active || len(doc.Events) == 0 {
			t.Errorf("call --json: exit %d, %+v", code, doc)
		}
		for _, e := range doc.Events {
			if e.Subject != schema.CallSubject("lab", id) {
				t.Errorf("event of another subject: %s, want the call's stored subject %s", e.Subject, schema.CallSubject("lab", id))
			}
		}
		if code, _, _ := replay(t, append(srv, "call", "no-such-call")...); code != 1 {
			t.Errorf("unknown call: exit %d, want 1", code)
		}
	})

	t.Run("export jsonl", func(t *testing.T) {
		code, out, errs := replay(t, append(srv, "export", "--format", "jsonl")...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if len(lines) != len(f.evs) {
			t.Fatalf("%d lines, want %d", len(lines), len(f.evs))
		}
		for i, line := range lines {
			var e event.Event
			if err := e.UnmarshalJSON([]byte(line)); err != nil {
				t.Fatalf("line %d is not a CloudEvent: %v\n%s", i+1, err, line)
			}
			if err := e.Validate(); err != nil {
				t.Fatalf("line %d: invalid CloudEvent: %v", i+1, err)
			}
			_, ev, err := schema.Decode(map[string][]string{"Content-Type": {schema.ContentTypeStructured}}, []byte(line))
			if err != nil {
				t.Fatalf("line %d: schema.Decode: %v", i+1, err)
			}
			w := f.evs[i]
			if ev.Name != w.Name || ev.Entity != w.Entity || !ev.Time.Equal(w.Time) || e.ID() != schema.EventID(w.Session, w.SessionSeq) {
				t.Fatalf("line %d is %s/%s %s, want %s/%s", i+1, ev.Name, ev.Entity, e.ID(), w.Name, w.Entity)
			}
		}
		if code, _, _ := replay(t, append(srv, "export", "--format", "yaml")...); code != 2 {
			t.Errorf("--format yaml: exit %d, want 2", code)
		}
	})

	t.Run("report html", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "out.html")
		code, out, errs := replay(t, append(srv, "report", "--html", file)...)
		if code != 0 {
			t.Fatalf("exit %d: %s %s", code, out, errs)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		checkReport(t, b, "cucm-pub", "cucm-sub1")
		checkRenderedInChromium(t, file)
	})

	t.Run("republish", func(t *testing.T) {
		sub, err := f.nc.SubscribeSync("again.>")
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Unsubscribe()
		if err := f.nc.Flush(); err != nil {
			t.Fatal(err)
		}
		code, out, errs := replay(t, append(srv, "republish", "--to", "again", "--speed", "max", "--to-seq", "200")...)
		if code != 0 || !strings.Contains(out, "republished 200 events") {
			t.Fatalf("exit %d: %s %s", code, out, errs)
		}
		for i := 0; i < 200; i++ {
			m, err := sub.NextMsg(10 * time.Second)
			if err != nil {
				t.Fatalf("message %d: %v", i, err)
			}
			want := "again." + strings.TrimPrefix(schemaSubject(t, f.evs[i]), "cti.")
			if m.Subject != want || m.Header.Get(schema.HeaderMsgID) != "" {
				t.Fatalf("message %d on %s (msg id %q), want %s without a msg id", i, m.Subject, m.Header.Get(schema.HeaderMsgID), want)
			}
			if _, ev, err := schema.Decode(m.Header, m.Data); err != nil || ev.Name != f.evs[i].Name {
				t.Fatalf("message %d does not decode as the original: %v", i, err)
			}
		}
		if code, _, _ := replay(t, append(srv, "republish", "--to", "cti")...); code != 2 {
			t.Errorf("--to cti: exit %d, want 2", code)
		}
		if code, _, _ := replay(t, append(srv, "republish", "--to", "x", "--speed", "fast")...); code != 2 {
			t.Errorf("--speed fast: exit %d, want 2", code)
		}
	})

	t.Run("tail --line", func(t *testing.T) {
		dn, _ := storetest.Line(3)
		code, out, errs := replay(t, append(srv, "tail", "--line", dn, "--since", "1h", "--count", "5", "--json")...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 5 {
			t.Fatalf("%d events, want 5:\n%s", len(lines), out)
		}
		for _, l := range lines {
			var e callEventJSON
			if err := json.Unmarshal([]byte(l), &e); err != nil {
				t.Fatal(err)
			}
			var d schema.Data
			if err := json.Unmarshal(e.Data, &d); err != nil {
				t.Fatal(err)
			}
			ev := schema.Event{Family: schema.FamilyCall, Data: d}
			if d.Address != nil {
				if d.Address.DN != dn {
					t.Fatalf("address event of line %s", d.Address.DN)
				}
				continue
			}
			if schema.CallLine(&ev) != dn {
				t.Fatalf("event %s (%s) is not about line %s", e.Event, e.Subject, dn)
			}
		}
	})

	t.Run("tail", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var out, errb bytes.Buffer
		done := make(chan int, 1)
		go func() { done <- run(ctx, append(srv, "tail", "--count", "3"), &out, &errb, false) }()
		more := storetest.SyntheticLog(storetest.LogConfig{Events: fixtureEvents + 50, Lines: 24, Failovers: []int{fixtureFailover}})[fixtureEvents:]
		js := storetest.CreateEventStream(t, f.nc, "CTI")
		// The tail starts with the next new event: publish until it has
		// printed three (it may have started after the first publishes).
		deadline := time.After(20 * time.Second)
		for i := 0; ; i++ {
			select {
			case code := <-done:
				if code != 0 {
					t.Fatalf("tail exit %d: %s", code, errb.String())
				}
				if n := strings.Count(out.String(), "\n"); n != 3 {
					t.Fatalf("tail printed %d lines, want 3:\n%s", n, out.String())
				}
				return
			case <-deadline:
				t.Fatal("tail did not print 3 events")
			case <-time.After(100 * time.Millisecond):
				if i < len(more) {
					storetest.Publish(t, js, "lab", more[i:i+1])
				}
			}
		}
	})
}

func itoa(n int) string { return jsonNumber(n) }

func jsonNumber(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func schemaSubject(t *testing.T, ev schema.Event) string {
	t.Helper()
	enc, err := schema.NewEncoder(schema.EncoderConfig{Cluster: "lab"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := enc.Encode(&ev, ev.Time)
	if err != nil {
		t.Fatal(err)
	}
	return m.Subject
}

// checkReport: the report parses as XML (well-formed), has an SVG with
// lanes, gaps and the call line, and references nothing external.
func checkReport(t *testing.T, b []byte, managers ...string) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.Strict = true
	counts := map[string]int{}
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("report is not well-formed: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			counts[se.Name.Local]++
			for _, a := range se.Attr {
				if (a.Name.Local == "src" || a.Name.Local == "href") && a.Value != "" {
					t.Errorf("external reference %s=%q", a.Name.Local, a.Value)
				}
			}
		}
	}
	if counts["svg"] != 1 || counts["polyline"] != 1 || counts["rect"] < 5 || counts["table"] < 2 {
		t.Errorf("report elements = %v", counts)
	}
	for _, want := range append([]string{`class="gap"`, "CTIManagerLost", "provider"}, managers...) {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("report lacks %q", want)
		}
	}
}

// checkRenderedInChromium renders the report in headless Chromium (Debian's
// package, when installed; skipped otherwise) and checks that the timeline
// was drawn: the screenshot has the provider lane's green, the CTIManager
// lanes' blue and the loss marker's red.
func checkRenderedInChromium(t *testing.T, file string) {
	t.Helper()
	bin := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		t.Log("no chromium on PATH: rendering check skipped (apt-get install chromium)")
		return
	}
	png := filepath.Join(t.TempDir(), "report.png")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
		"--window-size=1300,900", "--screenshot="+png, "file://"+file)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	counts, err := colorCounts(png, map[string][3]uint8{"green": {0x3f, 0xa6, 0x6b}, "blue": {0x3b, 0x7d, 0xd8}, "red": {0xb5, 0x2a, 0x25}})
	if err != nil {
		t.Fatal(err)
	}
	if counts["green"] < 5000 || counts["blue"] < 5000 || counts["red"] < 20 {
		t.Errorf("the rendered report lacks the timeline (pixels per colour %v)", counts)
	}
}

func colorCounts(file string, colors map[string][3]uint8) (map[string]int, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			for name, c := range colors {
				if near(r>>8, c[0]) && near(g>>8, c[1]) && near(bl>>8, c[2]) {
					out[name]++
				}
			}
		}
	}
	return out, nil
}

func near(v uint32, c uint8) bool { return v+6 >= uint32(c) && v <= uint32(c)+6 }

func TestExitCodes(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"--help"}, 0},
		{[]string{"state", "--help"}, 0},
		{[]string{"nonsense"}, 2},
		{[]string{"timeline", "--no-such-flag"}, 2},
		{[]string{"timeline", "extra-arg"}, 2},
		{[]string{"call"}, 2},
		{[]string{"state", "--seq", "notanumber"}, 2},
		{[]string{"state", "--at", "x", "--seq", "3"}, 2},
		{[]string{"--server", "localhost:4222", "timeline"}, 2},
		{[]string{"--server", "nats://127.0.0.1:1", "timeline"}, 1},
		{[]string{"--store", "/nonexistent/dir", "timeline"}, 2},
		{[]string{"report"}, 2},
		{[]string{"republish"}, 2},
	} {
		code, _, errs := replay(t, tc.args...)
		if code != tc.code {
			t.Errorf("replay %v: exit %d, want %d (%s)", tc.args, code, tc.code, errs)
		}
	}
	code, out, _ := replay(t, "--help")
	if code != 0 || !strings.Contains(out, "Examples:") {
		t.Errorf("--help has no examples")
	}
	for _, sub := range []string{"timeline", "state", "call", "calls", "device", "tail", "export", "republish", "report"} {
		_, out, _ := replay(t, sub, "--help")
		if !strings.Contains(out, "Examples:") || !strings.Contains(out, "replay") {
			t.Errorf("%s --help has no examples:\n%s", sub, out)
		}
	}
}

// TestOfflineStore reads a store directory left by a stopped server, as
// after `bridge demo --data-dir D`.
func TestOfflineStore(t *testing.T) {
	data := t.TempDir()
	evs := storetest.SyntheticLog(storetest.LogConfig{Events: 1200, Failovers: []int{600}})
	func() {
		srv, nc := storetest.StartServer(t, filepath.Join(data, "nats"))
		js := storetest.CreateEventStream(t, nc, "CTI")
		storetest.Publish(t, js, "lab", evs)
		nc.Close()
		srv.Shutdown()
		srv.WaitForShutdown()
	}()
	code, out, errs := replay(t, "--store", data, "timeline", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var entries []timeline.Entry
	if err := json.Unmarshal([]byte(out), &entries); err != nil || len(entries) == 0 {
		t.Fatalf("offline timeline: %v", err)
	}
	code, out, _ = replay(t, "--store", data, "state", "--json")
	var doc stateJSON
	if code != 0 || json.Unmarshal([]byte(out), &doc) != nil || doc.Seq != 1200 || doc.SnapshotSeq != 0 || doc.EventsRead != 1200 {
		t.Errorf("offline state without snapshots: exit %d seq %d read %d", code, doc.Seq, doc.EventsRead)
	}
	if code, _, _ := replay(t, "--store", data, "republish", "--to", "x"); code != 2 {
		t.Errorf("republish from a store without --target: exit %d, want 2", code)
	}
	if code, _, _ := replay(t, "--store", data, "--server", "nats://x:1", "timeline"); code != 2 {
		t.Errorf("--store with --server: exit %d, want 2", code)
	}
}

// The quick reading of a wave item from headers agrees with decoding.
func TestQuickWaveItemAgreesWithDecode(t *testing.T) {
	enc, err := schema.NewEncoder(schema.EncoderConfig{Cluster: "lab"})
	if err != nil {
		t.Fatal(err)
	}
	evs := storetest.SyntheticLog(storetest.LogConfig{Events: 3000, Failovers: []int{1500}})
	snaps := 0
	for i := range evs {
		ev := &evs[i]
		if ev.Family != schema.FamilyCall && ev.Family != schema.FamilyAddress && ev.Family != schema.FamilyTerminal {
			continue
		}
		if ev.Data.Snapshot {
			ev.Received = ev.Time.Add(1500 * time.Millisecond)
			ev.Data.Times.Received = ev.Received
			snaps++
		}
		msg, err := enc.Encode(ev, ev.Time)
		if err != nil {
			t.Fatal(err)
		}
		_, dev, err := schema.Decode(msg.Header, msg.Data)
		if err != nil {
			t.Fatal(err)
		}
		want := dev.Time
		if dev.Data.Snapshot {
			want = dev.Received
		}
		// As stored (a call under its call alone) and as published.
		for _, subject := range []string{schema.StoredSubject("lab", ev), msg.Subject} {
			m := replaystore.Message{Seq: uint64(i + 1), Subject: subject, Header: nats.Header(msg.Header), Data: msg.Data}
			quick, ok := quickWaveItem(m)
			if !ok {
				t.Fatalf("event %d (%s on %s): no quick reading", i, ev.Name, subject)
			}
			if quick.Name != dev.Name || quick.Entity != dev.Entity || quick.Session != dev.Session || quick.SessionSeq != dev.SessionSeq ||
				!quick.Time.Equal(want) || quick.Snapshot != dev.Data.Snapshot || quick.Inferred != dev.Data.Inferred || quick.Family != dev.Family {
				t.Fatalf("event %d on %s: quick %+v, decoded %s/%s %s-%d %v snapshot=%v", i, subject, quick, dev.Name, dev.Entity, dev.Session, dev.SessionSeq, want, dev.Data.Snapshot)
			}
		}
	}
	if snaps == 0 {
		t.Fatal("no snapshot event in the sample")
	}
}

// A stream written in structured content mode reads the same.
func TestStructuredModeStream(t *testing.T) {
	_, nc := storetest.StartServer(t, t.TempDir())
	js := storetest.CreateEventStream(t, nc, "CTI")
	evs := storetest.SyntheticLog(storetest.LogConfig{Events: 1500, Failovers: []int{700}})
	if err := storetest.PublishErr(js, "lab", schema.ModeStructured, evs); err != nil {
		t.Fatal(err)
	}
	srv := []string{"--server", nc.ConnectedUrl()}
	code, out, errs := replay(t, append(srv, "timeline", "--json")...)
	var entries []timeline.Entry
	if code != 0 || json.Unmarshal([]byte(out), &entries) != nil {
		t.Fatalf("timeline: exit %d %s", code, errs)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Event)
	}
	if !isSubsequence([]string{"LastHeartbeat", "CTIManagerLost", "CiscoAddrOutOfServiceEv", "ProvOutOfServiceEv", "ProvInServiceEv", "CiscoTermInServiceEv", "GapClosed"}, names) {
		t.Errorf("structured-mode timeline: %v", names)
	}
	code, out, _ = replay(t, append(srv, "state", "--json")...)
	var doc stateJSON
	if code != 0 || json.Unmarshal([]byte(out), &doc) != nil {
		t.Fatalf("state: exit %d", code)
	}
	want := callstate.New()
	for _, ev := range evs {
		want.Apply(ev)
	}
	if !slices.Equal(callIDs(doc.Calls), callIDs(want.Calls())) {
		t.Errorf("structured-mode state: calls %v, want %v", callIDs(doc.Calls), callIDs(want.Calls()))
	}
	code, out, _ = replay(t, append(srv, "export", "--format", "jsonl")...)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != len(evs) {
		t.Fatalf("export: exit %d, %d lines", code, len(lines))
	}
	var e event.Event
	if err := e.UnmarshalJSON([]byte(lines[0])); err != nil || e.Validate() != nil {
		t.Errorf("exported structured event: %v", err)
	}
}

// A stream holding two clusters: the timeline of one counts only its own
// device and call events, though its failover windows are read without a
// subject filter and the other cluster's events lie inside them.
func TestTimelineIgnoresOtherClusters(t *testing.T) {
	// Without recorded waves: the waves are counted from the windows.
	labEvs := storetest.SyntheticLog(storetest.LogConfig{Events: 1200, Lines: 24, Failovers: []int{600}, UnrecordedWaves: true})
	otherEvs := storetest.SyntheticLog(storetest.LogConfig{Events: 1200, Lines: 30, Failovers: []int{550}, UnrecordedWaves: true})
	for i := range otherEvs {
		// Another bridge's provider sessions: event ids (and so the
		// stream's dedupe ids) differ from the first cluster's.
		otherEvs[i].Session = "other-" + otherEvs[i].Session
	}
	entries := func(t *testing.T, interleaved bool) []timeline.Entry {
		t.Helper()
		_, nc := storetest.StartServer(t, t.TempDir())
		js := storetest.CreateEventStream(t, nc, "CTI")
		lab, err := storetest.NewPublisher(js, "lab", schema.ModeBinary)
		if err != nil {
			t.Fatal(err)
		}
		other, err := storetest.NewPublisher(js, "lab2", schema.ModeBinary)
		if err != nil {
			t.Fatal(err)
		}
		for i := range labEvs {
			if err := lab.Add(&labEvs[i]); err != nil {
				t.Fatal(err)
			}
			if interleaved {
				if err := other.Add(&otherEvs[i]); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := errors.Join(lab.Flush(), other.Flush()); err != nil {
			t.Fatal(err)
		}
		code, out, errs := replay(t, "--server", nc.ConnectedUrl(), "--cluster", "lab", "timeline", "--json")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		var es []timeline.Entry
		if err := json.Unmarshal([]byte(out), &es); err != nil {
			t.Fatal(err)
		}
		for i := range es {
			es[i].Seq = 0 // stream positions differ between the two stores
		}
		return es
	}
	alone, mixed := entries(t, false), entries(t, true)
	if !slices.ContainsFunc(alone, func(e timeline.Entry) bool { return e.Event == schema.EvCiscoAddrOutOfService && e.Count == 24 }) {
		t.Fatalf("the lone cluster's timeline has no wave of 24 addresses out of service: %+v", alone)
	}
	if len(alone) != len(mixed) {
		t.Fatalf("%d entries with the other cluster in the stream, %d without", len(mixed), len(alone))
	}
	for i := range alone {
		a, m := alone[i], mixed[i]
		if a.Event != m.Event || a.Count != m.Count || a.Detail != m.Detail {
			t.Errorf("entry %d: %s ×%d %q with the other cluster in the stream, %s ×%d %q without", i, m.Event, m.Count, m.Detail, a.Event, a.Count, a.Detail)
		}
	}
}

// The waves the bridge records in GapClosed tell the same story as the
// stored events they count: the timeline of a log with them (read from
// GapClosed, or counted from the log with --waves-from-log) and of the same
// log written without them (counted from the windows) agree entry by entry,
// but for the stream position of a recorded wave (the bridge cannot know
// it). Without recorded waves, --no-waves has no wave entries.
func TestTimelineRecordedWavesMatchTheLog(t *testing.T) {
	cfg := storetest.LogConfig{Events: 3000, Lines: 24, Failovers: []int{1000, 2000}}
	store := func(cfg storetest.LogConfig) string {
		_, nc := storetest.StartServer(t, t.TempDir())
		js := storetest.CreateEventStream(t, nc, "CTI")
		storetest.Publish(t, js, "lab", storetest.SyntheticLog(cfg))
		return nc.ConnectedUrl()
	}
	entries := func(url string, args ...string) []timeline.Entry {
		t.Helper()
		code, out, errs := replay(t, append([]string{"--server", url, "timeline", "--json"}, args...)...)
		if code != 0 {
			t.Fatalf("timeline %v: exit %d: %s", args, code, errs)
		}
		var es []timeline.Entry
		if err := json.Unmarshal([]byte(out), &es); err != nil {
			t.Fatal(err)
		}
		return es
	}
	recorded := store(cfg)
	cfg.UnrecordedWaves = true
	old := store(cfg)

	fromRecords, fromLog, fromOldLog := entries(recorded), entries(recorded, "--waves-from-log"), entries(old)
	waves := 0
	for _, e := range fromRecords {
		if e.Derived && e.Until != nil {
			waves++
			if e.Seq != 0 {
				t.Errorf("recorded wave %s has stream position %d: the bridge cannot know it", e.Event, e.Seq)
			}
		}
	}
	if waves < 2*5 {
		t.Fatalf("%d wave entries for two failovers: %+v", waves, fromRecords)
	}
	same := func(what string, got, want []timeline.Entry) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %d entries, want %d", what, len(got), len(want))
		}
		for i := range want {
			g, w := got[i], want[i]
			if g.Until != nil && w.Until != nil && g.Derived {
				g.Seq, w.Seq = 0, 0 // a wave's first stored event: not recorded
			}
			if g.Gap != nil && w.Gap != nil {
				g.Gap, w.Gap = nil, nil // the recorded waves themselves differ, by design
			}
			if gj, wj := mustJSON(t, g), mustJSON(t, w); gj != wj {
				t.Errorf("%s, entry %d:\n got %s\nwant %s", what, i, gj, wj)
			}
		}
	}
	same("recorded waves against --waves-from-log", fromRecords, fromLog)
	same("recorded waves against a log without them", fromRecords, fromOldLog)

	for _, e := range entries(old, "--no-waves") {
		if e.Derived && e.Until != nil {
			t.Errorf("--no-waves on a log without recorded waves has a wave entry: %+v", e)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
