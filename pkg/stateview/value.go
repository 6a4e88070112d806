package stateview

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/ctibridge/ctibridge/pkg/callstate"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// Line is the value of a line's key, line.<dn>: the line's service state
// and every call it is in. Calls is never null, so "no call" reads as [].
type Line struct {
	DN       string `json:"dn"`
	Terminal string `json:"terminal,omitempty"`
	// State is IN_SERVICE or OUT_OF_SERVICE ("" until reported); Since is
	// when it last changed, Cause and CauseName why it last went out.
	State     string    `json:"state,omitempty"`
	Since     time.Time `json:"since,omitzero"`
	Cause     int       `json:"cause,omitempty"`
	CauseName string    `json:"causeName,omitempty"`
	Calls     []Call    `json:"calls"`
	// Updated is the CTI time of the event that last changed the value.
	Updated time.Time `json:"updated,omitzero"`
}

// Device is the value of a device's key, device.<name>: the device's
// service state and registration, its lines, and every call with a
// terminal connection on it.
type Device struct {
	Name        string    `json:"name"`
	Type        string    `json:"type,omitempty"`
	State       string    `json:"state,omitempty"`
	Since       time.Time `json:"since,omitzero"`
	Cause       int       `json:"cause,omitempty"`
	CauseName   string    `json:"causeName,omitempty"`
	CallManager string    `json:"callManager,omitempty"`
	Registered  *bool     `json:"registered,omitempty"`
	Lines       []string  `json:"lines,omitempty"`
	Calls       []Call    `json:"calls"`
	Updated     time.Time `json:"updated,omitzero"`
}

// Call is one call as a line or device sees it: the call's state and
// parties, and the connection of the line concerned (for a device, of the
// line its terminal connection is on) with its terminal connections.
type Call struct {
	ID             string        `json:"id"`
	State          string        `json:"state,omitempty"`
	Started        time.Time     `json:"started,omitzero"`
	Calling        *schema.Party `json:"calling,omitempty"`
	Called         *schema.Party `json:"called,omitempty"`
	CurrentCalling *schema.Party `json:"currentCalling,omitempty"`
	CurrentCalled  *schema.Party `json:"currentCalled,omitempty"`
	// Connection is this line's connection: core and call-control states
	// and its terminal connections.
	Connection callstate.Connection `json:"connection"`
	// Feature is a transfer or conference in progress.
	Feature *callstate.Feature `json:"feature,omitempty"`
	// Unobserved: the CTIManager was lost while the call was up; the
	// state shown is the last known until a snapshot confirms it.
	Unobserved bool `json:"unobserved,omitempty"`
}

// lineCall is a call as seen from the connection cn.
func lineCall(c *callstate.Call, cn callstate.Connection) Call {
	return Call{ID: c.ID, State: c.State, Started: c.Started, Calling: c.Calling, Called: c.Called,
		CurrentCalling: c.CurrentCalling, CurrentCalled: c.CurrentCalled, Connection: cn,
		Feature: c.Feature, Unobserved: c.Unobserved}
}

// linesOf returns the lines a call has a real (not transient) connection
// on, and the devices with a terminal connection in it.
func linesOf(c *callstate.Call) (lines, devices []string) {
	for _, cn := range c.Connections {
		if cn.Transient {
			continue
		}
		lines = append(lines, cn.Address)
		for _, tc := range cn.TerminalConnections {
			devices = append(devices, tc.Terminal)
		}
	}
	return lines, devices
}

// LineOf computes the value of line dn's key from a folded state; ok is
// false for a line the provider never reported.
func LineOf(st *callstate.State, dn string) (Line, bool) {
	a, ok := st.Address(dn)
	if !ok {
		return Line{}, false
	}
	return lineValue(a, st.CallsOn(dn)), true
}

// lineValue is the value of line a with calls, the calls it is in in
// callstate.CompareCallIDs order.
func lineValue(a callstate.Address, calls []callstate.Call) Line {
	l := Line{DN: a.DN, Terminal: a.Terminal, State: a.State, Since: a.Since, Cause: a.Cause, CauseName: a.CauseName, Calls: []Call{}}
	for i := range calls {
		if cn, ok := calls[i].Connection(a.DN); ok && !cn.Transient {
			l.Calls = append(l.Calls, lineCall(&calls[i], cn))
		}
	}
	return l
}

// DeviceOf computes the value of device name's key from a folded state; ok
// is false for a device the provider never reported.
func DeviceOf(st *callstate.State, name string) (Device, bool) {
	t, ok := st.Terminal(name)
	if !ok {
		return Device{}, false
	}
	return deviceValue(t, st.Calls()), true
}

// deviceValue is the value of device t given calls in
// callstate.CompareCallIDs order (those without a terminal connection on
// the device are skipped).
func deviceValue(t callstate.Terminal, calls []callstate.Call) Device {
	d := Device{Name: t.Name, Type: t.Type, State: t.State, Since: t.Since, Cause: t.Cause, CauseName: t.CauseName,
		CallManager: t.CallManager, Registered: t.Registered, Lines: t.Addresses, Calls: []Call{}}
	onDevice := func(tc callstate.TerminalConnection) bool { return tc.Terminal == t.Name }
	for i := range calls {
		for _, cn := range calls[i].Connections {
			if !cn.Transient && slices.ContainsFunc(cn.TerminalConnections, onDevice) {
				d.Calls = append(d.Calls, lineCall(&calls[i], cn))
			}
		}
	}
	return d
}

// Marshal is the JSON a key holds.
func Marshal(v any) ([]byte, error) { return json.Marshal(v) }
