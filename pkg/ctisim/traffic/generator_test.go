package traffic

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/google/go-cmp/cmp"
)

// bigDir has phones one-line phones (DN 10000+i), ports CTI ports and rps
// route points, on two CallManager nodes.
func bigDir(phones, ports, rps int) Directory {
	d := Directory{Patterns: []Pattern{{Prefix: "9", CallingMask: "80055XXXX"}, {Prefix: "8", CallingMask: "4085550100"}}}
	for i := range phones {
		d.Phones = append(d.Phones, Line{Device: fmt.Sprintf("SEP%06d", i), DN: fmt.Sprint(10000 + i), CallManager: fmt.Sprintf("cm%d", i%2+1)})
	}
	// Every fifth pair of phones shares a second line.
	for i := 0; i+1 < phones; i += 10 {
		for _, j := range []int{i, i + 1} {
			d.Phones = append(d.Phones, Line{Device: fmt.Sprintf("SEP%06d", j), DN: fmt.Sprint(50000 + i), CallManager: fmt.Sprintf("cm%d", j%2+1)})
		}
	}
	for i := range ports {
		d.CTIPorts = append(d.CTIPorts, Line{Device: fmt.Sprintf("CTIP%d", i), DN: fmt.Sprint(3000 + i), CallManager: "cm1"})
	}
	for i := range rps {
		d.RoutePoints = append(d.RoutePoints, Line{Device: fmt.Sprintf("RP%d", i), DN: fmt.Sprint(2000 + i), CallManager: "cm2"})
	}
	d.Trunks = []Trunk{{Name: "PSTN", CallManager: "cm1", Prefixes: []string{"0", "+"},
		Numbers: []string{"+4989555000", "+4989555001", "0301234567"}}}
	// Forwards on the first 600 phones (when there are enough): always,
	// when busy, on no answer, to the phone 1000 above.
	for i := 0; i < 600 && i+1000 < phones; i++ {
		fw := Forward{DN: fmt.Sprint(10000 + i)}
		dest := fmt.Sprint(11000 + i)
		switch i % 3 {
		case 0:
			fw.All = dest
		case 1:
			fw.Busy = dest
		default:
			fw.NoAnswer = dest
		}
		d.Forwards = append(d.Forwards, fw)
	}
	// Pickup groups of fifty phones from phone 2000 on (large enough that
	// two members are idle even when most phones are in calls).
	for g := 0; g < 40 && 2000+50*g+50 <= phones; g++ {
		var lines []string
		for i := range 50 {
			lines = append(lines, fmt.Sprint(12000+50*g+i))
		}
		d.PickupGroups = append(d.PickupGroups, lines)
	}
	for i := range 200 {
		d.ParkNumbers = append(d.ParkNumbers, fmt.Sprint(80000+i))
	}
	// Hunt pilots with line groups of ten from phone 4000 on.
	for h := 0; h < 50 && 4000+10*h+10 <= phones; h++ {
		hp := HuntPilot{Number: fmt.Sprint(90000 + h)}
		for i := range 10 {
			hp.Members = append(hp.Members, fmt.Sprint(14000+10*h+i))
		}
		d.HuntPilots = append(d.HuntPilots, hp)
	}
	return d
}

func registeredHooks(d Directory) *fakeHooks {
	h := newHooks()
	for i, p := range d.CTIPorts {
		h.ports[p.Device] = portReg{dynamic: i%2 == 0, media: ctilink.MediaParams{IP: "192.0.2.7", Port: 20000 + 2*i, Codecs: []string{"G711Ulaw64k"}}}
	}
	for _, r := range d.RoutePoints {
		h.rpRegistered[r.Device] = true
	}
	return h
}

func TestGenerator200cpsTenMinutes(t *testing.T) {
	dir := bigDir(6000, 300, 4)
	h := registeredHooks(dir)
	m, err := New(Config{Rate: 200, Seed: 7, Start: t0}, dir, h)
	if err != nil {
		t.Fatal(err)
	}
	chk := newChecker()
	chk.multi = map[string]bool{}
	for _, r := range dir.RoutePoints {
		chk.multi[r.Device] = true
	}
	router := rand.New(rand.NewPCG(1, 2))
	maxActive, maxQueue, routed := 0, 0, 0
	step := 100 * time.Millisecond
	run := func(until time.Duration) {
		for at := m.Now().Sub(t0) + step; at <= until; at += step {
			now := t0.Add(at)
			ems := m.Advance(now)
			if err := chk.add(ems); err != nil {
				t.Fatalf("at %s: %v", at, err)
			}
			// A client answering every other route request with four
			// candidate destinations; the rest time out.
			for _, e := range ems {
				if r, ok := e.Msg.(ctilink.RouteEvent); ok && r.Kind == ctilink.RouteKindRoute && r.SessionID%2 == 0 {
					var dests []string
					for range 4 {
						dests = append(dests, dir.Phones[router.IntN(len(dir.Phones))].DN)
					}
					if err := m.RouteSelect(r.SessionID, dests, now); err != nil {
						t.Fatalf("RouteSelect: %v", err)
					}
					routed++
				}
			}
			maxActive = max(maxActive, m.ActiveCalls())
			maxQueue = max(maxQueue, len(m.q))
		}
	}
	run(10 * time.Minute)
	st := m.Stats()
	t.Logf("stats %+v, max active calls %d, max pending steps %d, routed %d, emissions %d",
		st, maxActive, maxQueue, routed, chk.events)
	if st.Arrivals < 115000 || st.Arrivals > 125000 {
		t.Errorf("arrivals %d in 600 s at 200/s", st.Arrivals)
	}
	for _, s := range Scenarios {
		if st.Started[s] < 5000 {
			t.Errorf("scenario %s started %d times, want about a tenth of the arrivals", s, st.Started[s])
		}
	}
	// Every call holds at least one phone line: the phone count bounds the
	// live calls whatever the rate.
	if maxActive > len(dir.Phones) || maxActive == 0 {
		t.Errorf("max active calls %d, phone lines %d", maxActive, len(dir.Phones))
	}
	// Pending steps: a few per live call (cancelled timers linger until due).
	if maxQueue > 3*maxActive+10 {
		t.Errorf("pending steps peaked at %d for %d live calls", maxQueue, maxActive)
	}
	// Stop the generator; every call must run to its end.
	if err := m.SetRate(0, m.Now()); err != nil {
		t.Fatal(err)
	}
	run(12 * time.Minute)
	if err := chk.allEnded(); err != nil {
		t.Fatal(err)
	}
	if n := m.ActiveCalls(); n != 0 {
		t.Fatalf("%d calls still active after draining", n)
	}
	if !m.NextAt().IsZero() || len(m.sessions) != 0 {
		t.Errorf("after draining NextAt=%v, %d route sessions", m.NextAt(), len(m.sessions))
	}
	for _, ln := range m.lines {
		if ln.busy != 0 || len(ln.legs) != 0 {
			t.Fatalf("line %s still busy=%d legs=%d", ln.DN, ln.busy, len(ln.legs))
		}
	}
	if len(m.phones.idle) != len(m.phones.all) || len(m.ports.idle) != len(dir.CTIPorts) {
		t.Errorf("idle pools %d/%d after draining", len(m.phones.idle), len(m.ports.idle))
	}
}

func TestGeneratorDeterministic(t *testing.T) {
	dir := bigDir(300, 4, 2)
	runModel := func(seed int64, steps []time.Duration) []Emission {
		m, err := New(Config{Rate: 30, Seed: seed, Start: t0}, dir, registeredHooks(dir))
		if err != nil {
			t.Fatal(err)
		}
		var out []Emission
		for _, at := range steps {
			out = append(out, m.Advance(t0.Add(at))...)
		}
		return out
	}
	regular, irregular := []time.Duration{}, []time.Duration{}
	for at := time.Duration(0); at <= 2*time.Minute; at += 250 * time.Millisecond {
		regular = append(regular, at)
	}
	for at := time.Duration(0); at < 2*time.Minute; at += 7919 * time.Millisecond {
		irregular = append(irregular, at)
	}
	irregular = append(irregular, 2*time.Minute)
	a, b := runModel(42, regular), runModel(42, irregular)
	if len(a) < 1000 {
		t.Fatalf("only %d emissions in 2 minutes at 30 calls/s", len(a))
	}
	if diff := cmp.Diff(a, b); diff != "" {
		t.Fatalf("same seed, same end time, different Advance steps: emissions differ:\n%.2000s", diff)
	}
	if c := runModel(43, regular); cmp.Equal(a, c) {
		t.Fatal("seeds 42 and 43 produced identical traffic")
	}
}

func TestGeneratorSkipsWhenNoIdleLine(t *testing.T) {
	h := newHooks()
	h.rpRegistered["RP1"] = true
	h.ports["CTIP1"] = portReg{}
	cfg := fixedConfig()
	cfg.Rate = 200
	m := newModel(t, cfg, h)
	chk := newChecker()
	for at := 100 * time.Millisecond; at <= 10*time.Second; at += 100 * time.Millisecond {
		if err := chk.add(m.Advance(t0.Add(at))); err != nil {
			t.Fatal(err)
		}
		if n := m.ActiveCalls(); n > 7 {
			t.Fatalf("%d active calls with 7 phone lines", n)
		}
	}
	st := m.Stats()
	if st.Skipped == 0 || st.Skipped >= st.Arrivals {
		t.Errorf("Skipped %d of %d arrivals, want some but not all", st.Skipped, st.Arrivals)
	}
}

func TestGeneratorAvoidsOutOfServiceDevices(t *testing.T) {
	dir := bigDir(200, 6, 2)
	h := registeredHooks(dir)
	chk := newChecker()
	chk.multi = map[string]bool{"RP0": true, "RP1": true}
	for i, p := range dir.Phones {
		if i%2 == 1 {
			h.outOfService[p.Device] = true
			chk.oos[p.Device] = true
		}
	}
	h.outOfService["CTIP0"], chk.oos["CTIP0"] = true, true
	m, err := New(Config{Rate: 40, Seed: 3, Start: t0}, dir, h)
	if err != nil {
		t.Fatal(err)
	}
	for at := time.Second; at <= 2*time.Minute; at += time.Second {
		if err := chk.add(m.Advance(t0.Add(at))); err != nil {
			t.Fatal(err)
		}
	}
	if chk.events < 1000 {
		t.Fatalf("only %d emissions", chk.events)
	}
}

func TestGeneratorHangupSides(t *testing.T) {
	m, err := New(Config{Rate: 5, Seed: 9, Start: t0, Mix: map[Scenario]int{Basic: 1}}, bigDir(100, 0, 0), newHooks())
	if err != nil {
		t.Fatal(err)
	}
	ems := m.Advance(t0.Add(2 * time.Minute))
	first := map[uint32]bool{} // gid → the first DISCONNECTED was the caller's
	for _, e := range ems {
		s, ok := e.Msg.(ctilink.CallStateEvent)
		if !ok {
			t.Fatalf("basic-only traffic emitted %T", e.Msg)
		}
		if _, seen := first[s.GlobalCallID]; !seen && s.State == ctilink.CallStateDisconnected {
			first[s.GlobalCallID] = s.Origin
		}
	}
	callers := 0
	for _, c := range first {
		if c {
			callers++
		}
	}
	if callers == 0 || callers == len(first) {
		t.Errorf("caller hung up first in %d of %d calls, want both sides to hang up sometimes", callers, len(first))
	}
}

func TestSetRateAndNextAt(t *testing.T) {
	m := newModel(t, fixedConfig(), newHooks())
	if !m.NextAt().IsZero() {
		t.Fatalf("idle model NextAt = %v", m.NextAt())
	}
	if _, err := m.Place(Basic, "1001", "1002", "", t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := m.NextAt(); !got.Equal(t0.Add(time.Second)) {
		t.Fatalf("NextAt with uncollected emissions = %v, want the Place time", got)
	}
	m.Advance(t0.Add(time.Second))
	if got := m.NextAt(); !got.Equal(t0.Add(2 * time.Second)) {
		t.Fatalf("NextAt = %v, want DIALING one DialTime later", got)
	}
	if err := m.SetRate(-1, t0.Add(time.Second)); err == nil {
		t.Fatal("SetRate(-1) accepted")
	}
	if err := m.SetRate(10, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	n := len(m.Advance(t0.Add(time.Minute)))
	if st := m.Stats(); st.Arrivals < 300 || n < 100 {
		t.Fatalf("after SetRate(10): %d arrivals, %d emissions in a minute", st.Arrivals, n)
	}
	// Going back in time is ignored.
	if ems := m.Advance(t0); len(ems) != 0 || !m.Now().Equal(t0.Add(time.Minute)) {
		t.Fatalf("Advance to the past: %d emissions, now %v", len(ems), m.Now())
	}
}

func TestConfigValidation(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		dir  Directory
		want []string // substrings of the error
	}{
		{"no start", Config{}, testDir(), []string{"Config.Start is required"}},
		{"negative rate and durations", Config{Start: t0, Rate: -1, RingTime: -time.Second, BusyTime: -1},
			testDir(), []string{"Config.Rate", "Config.RingTime", "Config.BusyTime"}},
		{"bad mix", Config{Start: t0, Mix: map[Scenario]int{"fax": 1, Basic: -2}}, testDir(),
			[]string{`unknown scenario "fax"`, "Config.Mix[basic] = -2"}},
		{"max below min", Config{Start: t0, TalkTime: 5 * time.Second, TalkTimeMax: time.Second}, testDir(),
			[]string{"Config.TalkTimeMax"}},
		{"impossible mix", Config{Start: t0, Mix: map[Scenario]int{RoutePoint: 1, Transform: 1, Conference: 1}},
			Directory{Phones: bigDir(2, 0, 0).Phones},
			[]string{"Config.Mix[routepoint]", "no route points", "Config.Mix[transform]", "no patterns",
				"Config.Mix[conference] = 1 but the directory has 2 phone devices, conference needs 3"}},
		{"bad directory", Config{Start: t0}, Directory{
			Phones:   []Line{{Device: "A", DN: "1"}, {Device: "B"}},
			CTIPorts: []Line{{Device: "A", DN: "2"}},
			Patterns: []Pattern{{Prefix: "9"}}},
			[]string{"Directory.Phones[1]", `device "A" is already listed in Phones`, "Directory.Patterns[0]"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg, tc.dir, newHooks())
			if err == nil {
				t.Fatal("New accepted the config")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	if _, err := New(Config{Start: t0}, testDir(), nil); !errors.Is(err, ErrHooksRequired) {
		t.Errorf("nil hooks: %v", err)
	}
	// A nil Mix leaves out what the directory cannot play (two phones
	// sharing a second line can play sharedline).
	m, err := New(Config{Start: t0}, bigDir(2, 0, 0), newHooks())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Scenario{Basic, NoAnswer, Busy, Hold, Transform, SharedLine, Outbound, Inbound}, m.mix); diff != "" {
		t.Errorf("default mix for 2 phones (-want +got):\n%s", diff)
	}
	dir := bigDir(2, 0, 0)
	dir.Trunks = nil
	if m, err = New(Config{Start: t0}, dir, newHooks()); err != nil || slices.Contains(m.mix, Outbound) || slices.Contains(m.mix, Inbound) {
		t.Errorf("without a trunk the default mix is %v (%v)", m.mix, err)
	}
	if _, err := New(Config{Start: t0, Mix: map[Scenario]int{Inbound: 1}}, dir, newHooks()); err == nil ||
		!strings.Contains(err.Error(), "Config.Mix[inbound] = 1 but the directory has no trunk with outside numbers") {
		t.Errorf("inbound without a trunk: %v", err)
	}
}

func TestDefaults(t *testing.T) {
	c := Config{Start: t0}.withDefaults()
	want := Config{Start: t0, RingTime: time.Second, RingTimeMax: 3 * time.Second, TalkTime: 2 * time.Second,
		TalkTimeMax: 8 * time.Second, HoldTime: time.Second, HoldTimeMax: 2 * time.Second, NoAnswerTime: 4 * time.Second,
		RouteSelectTimeout: 5 * time.Second, DialTime: time.Second, BusyTime: time.Second}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	if c := (Config{Start: t0, RingTime: 10 * time.Second}).withDefaults(); c.RingTimeMax != 10*time.Second {
		t.Errorf("a lone RingTime should make the ring time fixed, got max %v", c.RingTimeMax)
	}
}

// BenchmarkAdvance200cps measures one simulated second of traffic at 200
// calls per second over 6000 phone lines, in steady state.
func BenchmarkAdvance200cps(b *testing.B) {
	dir := bigDir(6000, 300, 4)
	m, err := New(Config{Rate: 200, Seed: 1, Start: t0}, dir, registeredHooks(dir))
	if err != nil {
		b.Fatal(err)
	}
	now := t0.Add(time.Minute)
	m.Advance(now) // reach steady state
	emitted := 0
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		now = now.Add(time.Second)
		emitted += len(m.Advance(now))
	}
	b.ReportMetric(float64(emitted)/float64(b.N), "emissions/op")
	b.ReportMetric(float64(m.ActiveCalls()), "activecalls")
}

func TestParseScenario(t *testing.T) {
	for _, s := range Scenarios {
		if got, err := ParseScenario(string(s)); err != nil || got != s {
			t.Errorf("ParseScenario(%q) = %q, %v", s, got, err)
		}
	}
	if _, err := ParseScenario("fax"); !errors.Is(err, ErrUnknownScenario) {
		t.Errorf("ParseScenario(fax) = %v", err)
	}
}
