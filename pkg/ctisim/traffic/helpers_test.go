package traffic

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
)

// fakeHooks answers registration questions from plain maps.
type fakeHooks struct {
	outOfService map[string]bool
	rpRegistered map[string]bool
	ports        map[string]portReg
}

type portReg struct {
	media   ctilink.MediaParams
	dynamic bool
}

func newHooks() *fakeHooks {
	return &fakeHooks{outOfService: map[string]bool{}, rpRegistered: map[string]bool{}, ports: map[string]portReg{}}
}

func (h *fakeHooks) CTIPort(device string) (ctilink.MediaParams, bool, bool) {
	r, ok := h.ports[device]
	return r.media, r.dynamic, ok
}
func (h *fakeHooks) RoutePointRegistered(device string) bool { return h.rpRegistered[device] }
func (h *fakeHooks) DeviceInService(device string) bool      { return !h.outOfService[device] }

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// testDir: phones SEP1001..SEP1006 with DN 1001..1006 (SEP1006 has a second
// line 1106), two CTI ports, two route points, one pattern, and the trunk
// PSTN (cm2) to +4989555000 and 0301234567.
func testDir() Directory {
	d := Directory{Patterns: []Pattern{{Prefix: "9", CallingMask: "80055XXXX"}}}
	for i := 1001; i <= 1006; i++ {
		cm := "cm1"
		if i%2 == 0 {
			cm = "cm2"
		}
		d.Phones = append(d.Phones, Line{Device: fmt.Sprintf("SEP%d", i), DN: fmt.Sprint(i), CallManager: cm})
	}
	d.Phones = append(d.Phones, Line{Device: "SEP1006", DN: "1106", CallManager: "cm2"})
	d.CTIPorts = []Line{{Device: "CTIP1", DN: "3001", CallManager: "cm1"}, {Device: "CTIP2", DN: "3002", CallManager: "cm1"}}
	d.RoutePoints = []Line{{Device: "RP1", DN: "2000", CallManager: "cm1"}, {Device: "RP2", DN: "2001", CallManager: "cm2"}}
	d.Trunks = []Trunk{{Name: "PSTN", CallManager: "cm2", Prefixes: []string{"0", "+"}, Numbers: []string{"+4989555000", "0301234567"}}}
	return d
}

// fixedConfig makes every duration fixed so emission times are known.
func fixedConfig() Config {
	return Config{Seed: 1, Start: t0, DialTime: time.Second, RingTime: 2 * time.Second,
		TalkTime: 5 * time.Second, HoldTime: 3 * time.Second, NoAnswerTime: 4 * time.Second,
		BusyTime: time.Second, RouteSelectTimeout: 5 * time.Second}
}

func newModel(t testing.TB, cfg Config, h *fakeHooks) *Model {
	t.Helper()
	m, err := New(cfg, testDir(), h)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// describer renders emissions as compact lines; global call ids become #1,
// #2… in order of first appearance so expectations do not depend on the
// counters.
type describer struct{ ids map[uint32]int }

func (d *describer) id(g uint32) string {
	if d.ids == nil {
		d.ids = map[uint32]int{}
	}
	if _, ok := d.ids[g]; !ok {
		d.ids[g] = len(d.ids) + 1
	}
	return fmt.Sprintf("#%d", d.ids[g])
}

func (d *describer) line(msg ctilink.Message) string {
	switch e := msg.(type) {
	case ctilink.CallStateEvent:
		s := fmt.Sprintf("%s %s %s", e.Line, e.State, d.id(e.GlobalCallID))
		if e.Cause != 0 {
			s += " " + e.Cause.String()
		}
		return s
	case ctilink.FeatureEvent:
		s := fmt.Sprintf("feature %s %s %s %s/%s", e.Feature, map[bool]string{true: "started", false: "ended"}[e.Started],
			e.Line, d.id(e.PrimaryCallID), d.id(e.ConsultCallID))
		if e.ResultCallID != 0 {
			s += " result=" + d.id(e.ResultCallID)
		}
		if e.Blind {
			s += " blind"
		}
		if e.Failed {
			s += " failed"
		}
		return s
	case ctilink.CallChangedEvent:
		return fmt.Sprintf("callchanged %s %s->%s", e.Line, d.id(e.OriginalCallID), d.id(e.SurvivingCall))
	case ctilink.RouteEvent:
		s := fmt.Sprintf("route %s %s %s cause=%d", e.Kind, e.Line, d.id(e.GlobalCallID), e.Cause)
		if e.Selected != "" {
			s += " selected=" + e.Selected
		}
		return s
	case ctilink.MediaEvent:
		s := fmt.Sprintf("media %s %s %s", e.Kind, e.Line, d.id(e.GlobalCallID))
		if e.IP != "" {
			s += fmt.Sprintf(" %s:%d", e.IP, e.Port)
		}
		return s + " " + e.Codec
	case ctilink.CallPartyEvent:
		return fmt.Sprintf("party %s %s %s added=%v transient=%v", e.Line, d.id(e.GlobalCallID), e.Party.DN, e.Added, e.Transient)
	}
	return fmt.Sprintf("%T", msg)
}

func (d *describer) lines(ems []Emission) []string {
	out := make([]string, len(ems))
	for i, e := range ems {
		out[i] = d.line(e.Msg)
	}
	return out
}

func dump(ems []Emission) string {
	var d describer
	var b strings.Builder
	for _, e := range ems {
		fmt.Fprintf(&b, "%s %s\n", e.At.Sub(t0), d.line(e.Msg))
	}
	return b.String()
}
