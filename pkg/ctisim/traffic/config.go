package traffic

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
)

// Scenario names one kind of call the model knows how to play.
type Scenario string

// Scenarios. Each one produces the wire sequence described in the package
// documentation.
const (
	Basic           Scenario = "basic"
	NoAnswer        Scenario = "noanswer"
	Busy            Scenario = "busy"
	Hold            Scenario = "hold"
	BlindTransfer   Scenario = "blindtransfer"
	ConsultTransfer Scenario = "consulttransfer"
	Conference      Scenario = "conference"
	RoutePoint      Scenario = "routepoint"
	CTIPort         Scenario = "ctiport"
	Transform       Scenario = "transform"
	// FailedTransfer: a consult transfer the destination drops as it
	// starts; it ends failed and the controller takes the call back.
	FailedTransfer Scenario = "failedtransfer"
	// SharedLine: A calls a directory number shared by several phones:
	// every appearance rings, the first answers, the others show it in
	// use; the answering phone holds and another resumes the call.
	SharedLine Scenario = "sharedline"
	// Outbound and Inbound cross a trunk: a phone calls a number outside
	// the cluster, or an outside number calls a phone (external.go).
	Outbound Scenario = "outbound"
	Inbound  Scenario = "inbound"
	// ForwardAll, ForwardBusy and ForwardNoAnswer call a line that
	// forwards its calls (always, when busy, when unanswered; forward.go).
	ForwardAll      Scenario = "forwardall"
	ForwardBusy     Scenario = "forwardbusy"
	ForwardNoAnswer Scenario = "forwardnoanswer"
	// Pickup: another member of the ringing line's pickup group picks
	// the call up (pickup.go).
	Pickup Scenario = "pickup"
	// Park: the called party parks the call on a park number, another
	// phone retrieves it (park.go).
	Park Scenario = "park"
	// Hunt: a call to a hunt pilot hunts its line group top-down (hunt.go).
	Hunt Scenario = "hunt"
)

// Scenarios lists every scenario in the fixed order the generator uses to
// turn Mix weights into a choice (a map has no stable order, a slice does).
// New scenarios are appended, so that a Mix naming only older ones draws
// as before.
var Scenarios = []Scenario{Basic, NoAnswer, Busy, Hold, BlindTransfer, ConsultTransfer,
	Conference, RoutePoint, CTIPort, Transform, FailedTransfer, SharedLine, Outbound, Inbound, ForwardAll,
	ForwardBusy, ForwardNoAnswer, Pickup, Park, Hunt}

// ParseScenario returns the scenario named s (as in Scenarios).
func ParseScenario(s string) (Scenario, error) {
	if sc := Scenario(s); sc.Valid() {
		return sc, nil
	}
	return "", fmt.Errorf("%w: %q (known: %v)", ErrUnknownScenario, s, Scenarios)
}

// Valid reports whether s is a known scenario.
func (s Scenario) Valid() bool {
	for _, k := range Scenarios {
		if k == s {
			return true
		}
	}
	return false
}

// Line is one line (address) of a device: the device name, its directory
// number and the CallManager node the device is registered to.
type Line struct{ Device, DN, CallManager string }

// Pattern is a translation pattern with a calling-party transformation.
type Pattern struct {
	// Prefix dialled before the 4-digit extension, e.g. "9"; a call through the pattern
	// dials Prefix+DN of the target and presents CallingMask applied to the caller
	// (mask "80055XXXX" keeps the last 4 digits: X = caller digit).
	Prefix, CallingMask string
}

// Trunk is a way out of the cluster (a SIP trunk or gateway): the numbers
// it routes (Prefixes, see dialplan.Route) and the outside numbers the
// generator calls and is called from (Numbers).
type Trunk struct {
	Name, CallManager string
	Prefixes          []string
	Numbers           []string
}

// Forward is a phone line's call forwarding: where its calls go always
// (All), when it is busy (Busy) and when it does not answer (NoAnswer);
// each a phone line's DN or "" for none.
type Forward struct {
	DN, All, Busy, NoAnswer string
}

// Directory is the part of the cluster configuration the model needs.
type Directory struct {
	Phones      []Line // phone lines (a device with 2 lines appears twice)
	CTIPorts    []Line
	RoutePoints []Line
	Patterns    []Pattern
	Trunks      []Trunk
	Forwards    []Forward
	// PickupGroups list the phone lines (DNs) of each call pickup group.
	PickupGroups [][]string
	// ParkNumbers are the cluster's call park numbers (not lines).
	ParkNumbers []string
	// HuntPilots are hunt pilots with their line group members, in
	// hunting order.
	HuntPilots []HuntPilot
}

// HuntPilot is a hunt pilot number and the phone lines (DNs) of its line
// group, hunted top-down.
type HuntPilot struct {
	Number  string
	Members []string
}

// Hooks lets the model ask the server about registrations (answers must be
// deterministic functions of server state).
type Hooks interface {
	CTIPort(device string) (media ctilink.MediaParams, dynamic bool, registered bool)
	RoutePointRegistered(device string) bool
	DeviceInService(device string) bool
}

// Defaults for the Config durations. They suit a demo: calls are short
// enough that a watcher sees every scenario finish within seconds.
const (
	DefaultDialTime           = 1 * time.Second
	DefaultRingTime           = 1 * time.Second
	DefaultRingTimeMax        = 3 * time.Second
	DefaultTalkTime           = 2 * time.Second
	DefaultTalkTimeMax        = 8 * time.Second
	DefaultHoldTime           = 1 * time.Second
	DefaultHoldTimeMax        = 2 * time.Second
	DefaultNoAnswerTime       = 4 * time.Second
	DefaultBusyTime           = 1 * time.Second
	DefaultRouteSelectTimeout = 5 * time.Second
)

// MaxRate bounds Config.Rate; far above what a single CTIManager session
// handles, it only catches unit mistakes (e.g. calls per hour).
const MaxRate = 100000

// Config configures a Model. Durations left zero take the Default…
// values. RingTime, TalkTime and HoldTime are the lower bounds of uniform
// ranges whose upper bounds are RingTimeMax, TalkTimeMax and HoldTimeMax;
// setting only the lower bound makes the duration fixed (tests do that to
// know every emission time), leaving both zero gives the default range.
type Config struct {
	Rate  float64          // new calls per second (0 = only scripted calls)
	Seed  int64            // seeds the PCG generator behind every random choice
	Mix   map[Scenario]int // relative weights; nil = all scenarios equally
	Start time.Time        // the model's time origin (required)

	RingTime, TalkTime, HoldTime, NoAnswerTime, RouteSelectTimeout time.Duration
	RingTimeMax, TalkTimeMax, HoldTimeMax                          time.Duration

	// DialTime separates DIALTONE from DIALING (the user keying digits); a
	// blind transfer also completes one DialTime after the consult call
	// starts ringing.
	DialTime time.Duration
	// BusyTime is how long a caller listens to busy tone (BUSY) before
	// hanging up (DISCONNECTED).
	BusyTime time.Duration
}

// Validate reports every problem of c, each naming the field and the fix.
func (c Config) Validate() error {
	var errs []error
	if math.IsNaN(c.Rate) || c.Rate < 0 || c.Rate > MaxRate {
		errs = append(errs, fmt.Errorf("traffic: Config.Rate %v: must be between 0 and %d calls per second", c.Rate, MaxRate))
	}
	if c.Start.IsZero() {
		errs = append(errs, errors.New("traffic: Config.Start is required: set it to the simulator clock's current time"))
	}
	for s, w := range c.Mix {
		if !s.Valid() {
			errs = append(errs, fmt.Errorf("traffic: Config.Mix: unknown scenario %q: use one of %v", s, Scenarios))
		}
		if w < 0 {
			errs = append(errs, fmt.Errorf("traffic: Config.Mix[%s] = %d: weights must be >= 0", s, w))
		}
	}
	durations := []struct {
		name string
		d    time.Duration
	}{{"RingTime", c.RingTime}, {"TalkTime", c.TalkTime}, {"HoldTime", c.HoldTime},
		{"NoAnswerTime", c.NoAnswerTime}, {"RouteSelectTimeout", c.RouteSelectTimeout},
		{"RingTimeMax", c.RingTimeMax}, {"TalkTimeMax", c.TalkTimeMax}, {"HoldTimeMax", c.HoldTimeMax},
		{"DialTime", c.DialTime}, {"BusyTime", c.BusyTime}}
	for _, d := range durations {
		if d.d < 0 {
			errs = append(errs, fmt.Errorf("traffic: Config.%s %v: must not be negative (0 = default)", d.name, d.d))
		}
	}
	ranges := []struct {
		name     string
		min, max time.Duration
	}{{"RingTime", c.RingTime, c.RingTimeMax}, {"TalkTime", c.TalkTime, c.TalkTimeMax}, {"HoldTime", c.HoldTime, c.HoldTimeMax}}
	for _, r := range ranges {
		if r.max > 0 && r.min > r.max {
			errs = append(errs, fmt.Errorf("traffic: Config.%sMax %v is below Config.%s %v: raise the maximum or lower the minimum", r.name, r.max, r.name, r.min))
		}
	}
	return errors.Join(errs...)
}

// withDefaults returns c with zero durations replaced by the defaults.
func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	span := func(min, max *time.Duration, dmin, dmax time.Duration) {
		switch {
		case *min == 0 && *max == 0:
			*min, *max = dmin, dmax
		case *max == 0:
			*max = *min
		}
	}
	span(&c.RingTime, &c.RingTimeMax, DefaultRingTime, DefaultRingTimeMax)
	span(&c.TalkTime, &c.TalkTimeMax, DefaultTalkTime, DefaultTalkTimeMax)
	span(&c.HoldTime, &c.HoldTimeMax, DefaultHoldTime, DefaultHoldTimeMax)
	def(&c.NoAnswerTime, DefaultNoAnswerTime)
	def(&c.RouteSelectTimeout, DefaultRouteSelectTimeout)
	def(&c.DialTime, DefaultDialTime)
	def(&c.BusyTime, DefaultBusyTime)
	return c
}

// Validate reports every problem of the directory: lines need a device and
// a number, a device belongs to one kind only, patterns need a mask.
func (d Directory) Validate() error {
	var errs []error
	kinds := map[string]string{}
	check := func(kind string, lines []Line) {
		for i, l := range lines {
			if l.Device == "" || l.DN == "" {
				errs = append(errs, fmt.Errorf("traffic: Directory.%s[%d]: Device and DN are required", kind, i))
				continue
			}
			if k, ok := kinds[l.Device]; ok && k != kind {
				errs = append(errs, fmt.Errorf("traffic: Directory.%s[%d]: device %q is already listed in %s: a device has one kind", kind, i, l.Device, k))
			}
			kinds[l.Device] = kind
		}
	}
	check("Phones", d.Phones)
	check("CTIPorts", d.CTIPorts)
	check("RoutePoints", d.RoutePoints)
	for i, p := range d.Patterns {
		if p.CallingMask == "" {
			errs = append(errs, fmt.Errorf("traffic: Directory.Patterns[%d]: CallingMask is required", i))
		}
	}
	phones := map[string]bool{}
	for _, l := range d.Phones {
		phones[l.DN] = true
	}
	for i, fw := range d.Forwards {
		if !phones[fw.DN] {
			errs = append(errs, fmt.Errorf("traffic: Directory.Forwards[%d]: %q is not a phone line", i, fw.DN))
		}
		for _, dest := range []string{fw.All, fw.Busy, fw.NoAnswer} {
			if dest != "" && (!phones[dest] || dest == fw.DN) {
				errs = append(errs, fmt.Errorf("traffic: Directory.Forwards[%d] (%s): destination %q is not another phone line", i, fw.DN, dest))
			}
		}
	}
	grouped := map[string]bool{}
	for i, g := range d.PickupGroups {
		if len(g) < 2 {
			errs = append(errs, fmt.Errorf("traffic: Directory.PickupGroups[%d]: a pickup group needs at least two lines", i))
		}
		for _, dn := range g {
			if !phones[dn] || grouped[dn] {
				errs = append(errs, fmt.Errorf("traffic: Directory.PickupGroups[%d]: %q is not a phone line or already in a group", i, dn))
			}
			grouped[dn] = true
		}
	}
	for i, h := range d.HuntPilots {
		if h.Number == "" || phones[h.Number] || len(h.Members) == 0 {
			errs = append(errs, fmt.Errorf("traffic: Directory.HuntPilots[%d]: a pilot needs a number that is no line and at least one member", i))
		}
		for _, dn := range h.Members {
			if !phones[dn] {
				errs = append(errs, fmt.Errorf("traffic: Directory.HuntPilots[%d] (%s): member %q is not a phone line", i, h.Number, dn))
			}
		}
	}
	for i, t := range d.Trunks {
		if t.Name == "" || len(t.Prefixes) == 0 {
			errs = append(errs, fmt.Errorf("traffic: Directory.Trunks[%d]: Name and Prefixes are required", i))
		}
		if _, ok := kinds[t.Name]; ok {
			errs = append(errs, fmt.Errorf("traffic: Directory.Trunks[%d]: %q is also a device", i, t.Name))
		}
	}
	return errors.Join(errs...)
}
