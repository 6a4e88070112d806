package ctiengine

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// harness drives a Machine as the runner would, with explicit time: it
// records what the machine asks for, fires its timers in deadline order
// when time advances, and plays the CTIManager side by hand.
type harness struct {
	t      testing.TB
	m      *Machine
	now    time.Time
	events []schema.Event
	timers map[TimerID]time.Time
	dials  []DialRequest
	probes []ProbeRequest
	hangup []LinkID
	trans  []Transition
	notes  []Note
	meas   []Measurement
	link   LinkID      // link currently up from the harness's view
	sent   []sentFrame // frames sent on the current link
	done   bool
	err    error
	frames []ctilink.Message // every message sent on any link
}

type sentFrame struct {
	seq      uint32
	msg      ctilink.Message
	answered bool
}

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func testConfig() Config {
	return Config{
		CTIManagers:    []CTIManager{{Name: "primary", Addr: "127.0.0.1:1"}, {Name: "backup", Addr: "127.0.0.1:2"}},
		Login:          "bridge",
		Password:       "secret",
		AppInfo:        "test",
		BridgeInstance: "b1",
		Sink:           SinkFunc(func(schema.Event) {}),
	}
}

func newHarness(t testing.TB, cfg Config) *harness {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	return &harness{t: t, m: NewMachine(cfg), now: t0, timers: map[TimerID]time.Time{}}
}

func (h *harness) record(out *Output) {
	h.t.Helper()
	if len(out.Send) > 0 {
		if out.SendLink != h.link {
			h.t.Fatalf("machine sends on link %d, harness link is %d", out.SendLink, h.link)
		}
		for _, msg := range out.Send {
			h.sent = append(h.sent, sentFrame{seq: uint32(len(h.sent) + 1), msg: msg})
			h.frames = append(h.frames, msg)
		}
	}
	if out.Hangup != 0 {
		h.hangup = append(h.hangup, out.Hangup)
		if out.Hangup == h.link {
			h.link = 0
		}
	}
	if out.Dial != nil {
		h.dials = append(h.dials, *out.Dial)
	}
	h.probes = append(h.probes, out.Probes...)
	for _, op := range out.Timers {
		if op.At.IsZero() {
			delete(h.timers, op.ID)
		} else {
			h.timers[op.ID] = op.At
		}
	}
	h.events = append(h.events, out.Events...)
	h.trans = append(h.trans, out.Transitions...)
	h.notes = append(h.notes, out.Notes...)
	h.meas = append(h.meas, out.Measurements...)
	if out.Done {
		h.done, h.err = true, out.Err
	}
}

// advance moves time by d, firing due timers in deadline order.
func (h *harness) advance(d time.Duration) { h.advanceTo(h.now.Add(d)) }

func (h *harness) advanceTo(target time.Time) {
	h.t.Helper()
	for {
		id, at, ok := TimerID(-1), time.Time{}, false
		for tid, tat := range h.timers {
			if !tat.After(target) && (!ok || tat.Before(at) || (tat.Equal(at) && tid < id)) {
				id, at, ok = tid, tat, true
			}
		}
		if !ok {
			break
		}
		delete(h.timers, id)
		if at.After(h.now) {
			h.now = at
		}
		h.record(h.m.Timer(id, h.now))
	}
	if target.After(h.now) {
		h.now = target
	}
}

func (h *harness) start() { h.t.Helper(); h.record(h.m.Start(h.now)) }

func (h *harness) lastDial() DialRequest {
	h.t.Helper()
	if len(h.dials) == 0 {
		h.t.Fatal("no dial requested")
	}
	return h.dials[len(h.dials)-1]
}

// up accepts the last dial.
func (h *harness) up() {
	h.t.Helper()
	d := h.lastDial()
	h.link = d.Link
	h.sent = nil
	h.record(h.m.LinkUp(d.Link, h.now))
}

func (h *harness) fail(err error) {
	h.t.Helper()
	h.record(h.m.LinkFailed(h.lastDial().Link, err, h.now))
}

func (h *harness) down(err error) {
	h.t.Helper()
	l := h.link
	h.link = 0
	h.record(h.m.LinkDown(l, err, h.now))
}

func (h *harness) recv(msg ctilink.Message) {
	h.t.Helper()
	h.record(h.m.Message(h.link, msg, h.now))
}

// find returns the first unanswered frame of type T.
func findSent[T ctilink.Message](h *harness) (*sentFrame, T) {
	var zero T
	for i := range h.sent {
		if v, ok := h.sent[i].msg.(T); ok && !h.sent[i].answered {
			return &h.sent[i], v
		}
	}
	return nil, zero
}

func (h *harness) openResponse(serverHB, clientHB time.Duration) {
	h.t.Helper()
	f, _ := findSent[ctilink.ProviderOpenRequest](h)
	if f == nil {
		h.t.Fatal("no ProviderOpenRequest sent")
	}
	f.answered = true
	h.recv(ctilink.ProviderOpenResponse{ReqSeq: f.seq, ServerHeartbeatMs: serverHB.Milliseconds(),
		ClientHeartbeatMs: clientHB.Milliseconds(), ProviderID: "prov-1", CTIManager: h.lastDial().CTIManager})
}

func (h *harness) openCompleted(reason ctilink.CloseReason) {
	h.t.Helper()
	h.recv(ctilink.ProviderOpenCompleted{ReqSeq: 1, Reason: reason, ProviderID: "prov-1"})
}

func (h *harness) deviceList(devs []ctilink.DeviceInfo, pageSize int) {
	h.t.Helper()
	f, _ := findSent[ctilink.DeviceListRequest](h)
	if f == nil {
		h.t.Fatal("no DeviceListRequest sent")
	}
	f.answered = true
	for i := 0; ; i += pageSize {
		end := min(i+pageSize, len(devs))
		h.recv(ctilink.DeviceListResponse{ReqSeq: f.seq, Devices: devs[i:end], More: end < len(devs), Total: len(devs)})
		if end >= len(devs) {
			return
		}
	}
}

// answerRequests answers every pipelined request (more are sent as the
// window frees) with OK; snapshots get snap(device) events then
// SnapshotCompleted. It stops when nothing is left unanswered.
func (h *harness) answerRequests(snap func(device string) []ctilink.Message) {
	h.t.Helper()
	for {
		progressed := false
		for i := 0; i < len(h.sent) && h.link != 0; i++ {
			f := &h.sent[i]
			if f.answered {
				continue
			}
			switch v := f.msg.(type) {
			case ctilink.DeviceOpenRequest, ctilink.LineOpenRequest, ctilink.CTIPortRegisterRequest,
				ctilink.RoutePointRegisterRequest, ctilink.RouteSelectRequest:
				f.answered = true
				progressed = true
				h.recv(ctilink.Response{ReqSeq: f.seq})
			case ctilink.SnapshotRequest:
				f.answered = true
				progressed = true
				var n int
				if snap != nil {
					for _, msg := range snap(v.Device) {
						h.recv(msg)
						n++
					}
				}
				h.recv(ctilink.SnapshotCompleted{ReqSeq: f.seq, Device: v.Device, Calls: n})
			}
		}
		if !progressed {
			return
		}
	}
}

// establish runs the whole handshake on the last dial.
func (h *harness) establish(devs []ctilink.DeviceInfo, snap func(string) []ctilink.Message) {
	h.t.Helper()
	h.up()
	h.openResponse(10*time.Second, 10*time.Second)
	h.openCompleted(0)
	h.deviceList(devs, 500)
	h.answerRequests(snap)
}

func phones(n int) []ctilink.DeviceInfo {
	devs := make([]ctilink.DeviceInfo, n)
	for i := range devs {
		devs[i] = ctilink.DeviceInfo{Name: fmt.Sprintf("SEP%012d", i+1), Type: ctilink.DevicePhone, CallManager: "cm1",
			Lines: []ctilink.LineInfo{{DN: fmt.Sprintf("%d", 1000+i+1)}}, Registered: true, InService: true}
	}
	return devs
}

// names lists the event names (optionally only those of fams).
func names(evs []schema.Event, fams ...schema.Family) []string {
	var out []string
	for _, ev := range evs {
		if len(fams) > 0 {
			keep := false
			for _, f := range fams {
				keep = keep || ev.Family == f
			}
			if !keep {
				continue
			}
		}
		n := ev.Name
		if ev.Entity != "" {
			n += "(" + ev.Entity + ")"
		}
		out = append(out, n)
	}
	return out
}

func (h *harness) take() []schema.Event {
	evs := h.events
	h.events = nil
	return evs
}

func eqStrings(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("%s:\ngot:\n  %s\nwant:\n  %s", what, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func sentTypes(msgs []sentFrame) []string {
	var out []string
	for _, f := range msgs {
		out = append(out, f.msg.Type().String())
	}
	return out
}
