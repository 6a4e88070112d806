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
)

// Scenarios lists every scenario in the fixed order the generator uses to
// turn Mix weights into a choice (a map has no stable order, a slice does).
var Scenarios = []Scenario{Basic, NoAnswer, Busy, Hold, BlindTransfer, ConsultTransfer,
	Conference, RoutePoint, CTIPort, Transform, FailedTransfer, SharedLine}

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

// Directory is the part of the cluster configuration the model needs.
type Directory struct {
	Phones      []Line // phone lines (a device with 2 lines appears twice)
	CTIPorts    []Line
	RoutePoints []Line
	Patterns    []Pattern
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
	return errors.Join(errs...)
}
