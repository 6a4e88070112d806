package ctisim

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/ctisim/traffic"
)

// seededRun runs a minute of generated traffic (every scenario, rate 3/s)
// against one client observing everything, and returns the ground truth of
// its session (memory and JSON-lines forms) and what the client received.
func seededRun(t *testing.T, seed int64) (mem, lines []Record, got []frame) {
	t.Helper()
	var buf bytes.Buffer
	tc := fixedTraffic()
	tc.Rate, tc.Seed = 3, seed
	s := startServer(t, Config{ManualTime: true, Traffic: tc, GroundTruth: &buf, RunID: fmt.Sprint(seed)})
	c := dialClient(t, s.Addr("ctim-a"))
	resp, _ := c.open(0)
	for _, d := range DefaultCluster().Devices {
		switch d.Type {
		case ctilink.DeviceCTIPort:
			c.mustOK(ctilink.CTIPortRegisterRequest{Device: d.Name,
				Media: ctilink.MediaParams{IP: "10.9.9.9", Port: 20000, Codecs: []string{"PCMA"}, PacketMs: 20}})
		case ctilink.DeviceRoutePoint:
			c.mustOK(ctilink.RoutePointRegisterRequest{Device: d.Name})
		}
		c.openLines(d.Name, d.Lines...)
	}
	for i := 0; i < 60; i++ {
		advance(t, s, time.Second)
	}
	if err := s.SetRate(0); err != nil {
		t.Fatal(err)
	}
	advance(t, s, 2*time.Minute) // let every call finish
	if s.ActiveCalls() != 0 {
		t.Fatalf("%d calls still active", s.ActiveCalls())
	}
	var sent []Record
	eventually(t, 10*time.Second, "the client to receive every recorded frame", func() bool {
		for _, info := range s.Sessions() {
			if info.ID == resp.ProviderID && info.Queued > 0 {
				return false
			}
		}
		sent = sent[:0]
		for _, r := range s.GroundTruth(resp.ProviderID) {
			if r.Sent {
				sent = append(sent, r)
			}
		}
		return len(c.received()) >= len(sent)
	})
	mem = s.GroundTruth(resp.ProviderID)
	got = c.received()[:len(sent)]
	c.close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(&buf)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("ground-truth line %q: %v", sc.Text(), err)
		}
		if r.Session == resp.ProviderID {
			lines = append(lines, r)
		}
	}
	return mem, lines, got
}

func TestGroundTruthMatchesWhatTheClientReceived(t *testing.T) {
	mem, lines, got := seededRun(t, 7)
	var sent []Record
	for _, r := range mem {
		if r.Sent {
			sent = append(sent, r)
		}
	}
	if len(sent) < 500 {
		t.Fatalf("only %d frames in a minute of traffic", len(sent))
	}
	types := map[string]int{}
	for i, f := range got {
		r := sent[i]
		body, err := json.Marshal(f.msg)
		if err != nil {
			t.Fatal(err)
		}
		if f.h.Sequence != r.Seq || f.h.Type.String() != r.Type || !bytes.Equal(body, r.Body) {
			t.Fatalf("frame %d: client got seq %d %s %s; ground truth says seq %d %s %s",
				i, f.h.Sequence, f.h.Type, body, r.Seq, r.Type, r.Body)
		}
		types[r.Type]++
	}
	for _, want := range []string{"CallState", "Feature", "CallChanged", "Route", "Media", "CallParty"} {
		if types[want] == 0 {
			t.Errorf("no %s frame in a minute of every scenario: %v", want, types)
		}
	}
	// The JSON lines carry the same records.
	if len(lines) < len(mem) {
		t.Fatalf("%d JSON lines for %d records", len(lines), len(mem))
	}
	for i, r := range mem {
		l := lines[i]
		if l.Seq != r.Seq || l.Type != r.Type || l.Sent != r.Sent || !bytes.Equal(l.Body, r.Body) || l.Node != "ctim-a" {
			t.Fatalf("JSON line %d = %+v, memory %+v", i, l, r)
		}
	}
}

func TestSameSeedSameOutput(t *testing.T) {
	strip := func(recs []Record) []string {
		var out []string
		for _, r := range recs {
			// Heartbeats depend on wall-clock idleness; provider ids name
			// the run; a Response names the request's frame sequence,
			// which counts the client's own heartbeats (wall-clock too).
			if r.Type == "Heartbeat" || r.Type == "ProviderOpenResponse" || r.Type == "ProviderOpenCompleted" || r.Type == "Response" {
				continue
			}
			out = append(out, fmt.Sprintf("%v %s %s", r.Sent, r.Type, r.Body))
		}
		return out
	}
	a, _, _ := seededRun(t, 11)
	b, _, _ := seededRun(t, 11)
	sa, sb := strip(a), strip(b)
	if len(sa) != len(sb) {
		t.Fatalf("same seed: %d vs %d frames", len(sa), len(sb))
	}
	for i := range sa {
		if sa[i] != sb[i] {
			t.Fatalf("same seed, frame %d differs:\n%s\n%s", i, sa[i], sb[i])
		}
	}
	c, _, _ := seededRun(t, 12)
	if sc := strip(c); len(sc) == len(sa) && fmt.Sprint(sc) == fmt.Sprint(sa) {
		t.Fatal("a different seed gave identical output")
	}
}

func TestGroundTruthBound(t *testing.T) {
	g := newGroundTruth(nil, 3)
	for i := 1; i <= 5; i++ {
		g.record(Record{Session: "s", Seq: uint32(i), Type: "Heartbeat", Msg: ctilink.Heartbeat{}})
	}
	recs := g.snapshot("")
	if len(recs) != 3 || recs[0].Seq != 3 || recs[2].Seq != 5 {
		t.Fatalf("kept %+v", recs)
	}
	if total, kept, _ := g.stats(); total != 5 || kept != 3 {
		t.Fatalf("stats %d/%d", total, kept)
	}
	off := newGroundTruth(nil, -1)
	off.record(Record{Session: "s", Msg: ctilink.Heartbeat{}})
	if len(off.snapshot("")) != 0 {
		t.Fatal("negative limit kept records")
	}
}

var _ = traffic.Basic
