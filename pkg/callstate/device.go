package callstate

import (
	"slices"
	"time"

	"github.com/ctibridge/ctibridge/pkg/schema"
)

func (s *State) terminal(name string) *Terminal {
	t, ok := s.terminals[name]
	if !ok {
		t = &Terminal{Name: name}
		s.terminals[name] = t
	}
	return t
}

func (s *State) address(dn string) *Address {
	a, ok := s.addresses[dn]
	if !ok {
		a = &Address{DN: dn}
		s.addresses[dn] = a
	}
	return a
}

func setService(state *string, since *time.Time, inService bool, ev *schema.Event) {
	v := OutOfService
	if inService {
		v = InService
	}
	if *state != v {
		*since = ev.Time
	}
	*state = v
}

func (s *State) applyTerminal(ev *schema.Event) {
	d := ev.Data.Terminal
	name := ev.Entity
	if name == "" && d != nil {
		name = d.Name
	}
	if name == "" {
		s.stats.Ignored++
		return
	}
	if ev.Name == schema.EvCiscoTermRemoved {
		delete(s.terminals, name)
		return
	}
	t := s.terminal(name)
	if d != nil {
		if d.Type != "" {
			t.Type = d.Type
		}
		if d.CallManager != "" {
			t.CallManager = d.CallManager
		}
		if d.Registered != nil {
			r := *d.Registered
			t.Registered = &r
		}
		if len(d.Addresses) > 0 && !slices.Equal(t.Addresses, d.Addresses) {
			t.Addresses = slices.Clone(d.Addresses)
		}
		if d.MediaIP != "" {
			t.MediaIP = d.MediaIP
			t.MediaPort = d.MediaPort
		}
		if len(d.MediaCodecs) > 0 {
			t.MediaCodecs = slices.Clone(d.MediaCodecs)
		}
		if d.Observed {
			t.Observed = true
		}
	}
	switch ev.Name {
	case schema.EvCiscoTermCreated:
		if d != nil && d.State != "" {
			setService(&t.State, &t.Since, d.State == InService, ev)
		}
	case schema.EvCiscoTermInService:
		setService(&t.State, &t.Since, true, ev)
		t.Cause, t.CauseName = 0, ""
	case schema.EvCiscoTermOutOfService:
		setService(&t.State, &t.Since, false, ev)
		t.Cause, t.CauseName = ev.Data.Cause, ev.Data.CauseName
		if t.CauseName == "" {
			t.CauseName = schema.CauseNames[t.Cause]
		}
	case schema.EvCiscoProvTerminalRegistered:
		r := true
		t.Registered = &r
		t.RegistrationError = ""
	case schema.EvCiscoProvTerminalUnRegistered:
		r := false
		t.Registered = &r
	case schema.EvCiscoTermRegistrationFailed:
		t.RegistrationError = firstNonEmpty(ev.Data.CauseName, schema.CauseNames[ev.Data.Cause], "registration failed")
	case schema.EvCiscoTermSnapshot, schema.EvCiscoTermSnapshotCompleted:
		t.LastSnapshot = ev.Time
	case schema.EvCiscoRTPInputStarted:
		t.RTPInput = true
	case schema.EvCiscoRTPInputStopped:
		t.RTPInput = false
	case schema.EvCiscoRTPOutputStarted:
		t.RTPOutput = true
	case schema.EvCiscoRTPOutputStopped:
		t.RTPOutput = false
	case schema.EvCiscoMediaOpenLogicalChannel:
		// Media parameters (if any) were taken from the data above.
	case schema.EvTermObservationEnded:
		t.Observed = false
	default:
		s.stats.UnknownEvents++
	}
}

func (s *State) applyAddress(ev *schema.Event) {
	d := ev.Data.Address
	dn := ev.Entity
	if dn == "" && d != nil {
		dn = d.DN
	}
	if dn == "" {
		s.stats.Ignored++
		return
	}
	if ev.Name == schema.EvCiscoAddrRemoved {
		delete(s.addresses, dn)
		return
	}
	a := s.address(dn)
	if d != nil {
		if d.Terminal != "" {
			a.Terminal = d.Terminal
		}
		if d.Observed {
			a.Observed = true
		}
	}
	switch ev.Name {
	case schema.EvCiscoAddrCreated:
		if d != nil && d.State != "" {
			setService(&a.State, &a.Since, d.State == InService, ev)
		}
	case schema.EvCiscoAddrInService:
		setService(&a.State, &a.Since, true, ev)
		a.Cause, a.CauseName = 0, ""
	case schema.EvCiscoAddrOutOfService:
		setService(&a.State, &a.Since, false, ev)
		a.Cause, a.CauseName = ev.Data.Cause, ev.Data.CauseName
		if a.CauseName == "" {
			a.CauseName = schema.CauseNames[a.Cause]
		}
	case schema.EvAddrObservationEnded:
		a.Observed = false
	default:
		s.stats.UnknownEvents++
	}
}
