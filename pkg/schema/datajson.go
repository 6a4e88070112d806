package schema

import (
	"errors"
	"strconv"
	"time"
	"unicode/utf8"
)

// A hand-written JSON appender for Data: the same bytes encoding/json
// produces (field order, omitempty/omitzero, HTML-safe string escaping,
// U+FFFD for invalid UTF-8, RFC 3339 times), several times faster and
// with no reflection. The differential tests and FuzzDataJSON compare it
// with json.Marshal on values that fill every field; dataLayoutOK makes
// Encode fall back to encoding/json if the types gain a field this file
// does not know yet.

const jsonHex = "0123456789abcdef"

// jsonSafe marks the ASCII bytes encoding/json copies as is with HTML
// escaping on.
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = true
	}
	t['"'], t['\\'], t['<'], t['>'], t['&'] = false, false, false, false, false
	return t
}()

func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if jsonSafe[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', jsonHex[c>>4], jsonHex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', jsonHex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

var (
	errYearRange = errors.New("Time.MarshalJSON: year outside of range [0,9999]")
	errZoneRange = errors.New("Time.MarshalJSON: timezone hour outside of range [0,23]")
)

// appendJSONTime appends t as time.Time.MarshalJSON does, with its errors.
func appendJSONTime(b []byte, t time.Time) ([]byte, error) {
	b = append(b, '"')
	n0 := len(b)
	b = t.AppendFormat(b, time.RFC3339Nano)
	if err := checkRFC3339(b[n0:]); err != nil {
		return b, err
	}
	return append(b, '"'), nil
}

// checkRFC3339 rejects what time.Time.MarshalJSON rejects: a year not
// exactly four digits wide, and zone offsets of 24 hours or more.
func checkRFC3339(f []byte) error {
	if len(f) < 5 || f[4] != '-' {
		return errYearRange
	}
	if f[len(f)-1] != 'Z' {
		c := f[len(f)-len("Z07:00")]
		h := f[len(f)-len("07:00"):]
		if (c >= '0' && c <= '9') || 10*(h[0]-'0')+(h[1]-'0') >= 24 {
			return errZoneRange
		}
	}
	return nil
}

// jsonObj tracks whether a comma is needed before the next member.
type jsonObj struct {
	b     []byte
	first bool
}

func (o *jsonObj) key(k string) {
	if o.first {
		o.first = false
	} else {
		o.b = append(o.b, ',')
	}
	o.b = append(o.b, '"')
	o.b = append(o.b, k...)
	o.b = append(o.b, '"', ':')
}

func (o *jsonObj) str(k, v string) {
	o.key(k)
	o.b = appendJSONString(o.b, v)
}

func (o *jsonObj) strOmit(k, v string) {
	if v != "" {
		o.str(k, v)
	}
}

func (o *jsonObj) int(k string, v int64) {
	o.key(k)
	o.b = strconv.AppendInt(o.b, v, 10)
}

func (o *jsonObj) intOmit(k string, v int64) {
	if v != 0 {
		o.int(k, v)
	}
}

func (o *jsonObj) boolOmit(k string, v bool) {
	if v {
		o.key(k)
		o.b = append(o.b, "true"...)
	}
}

func (o *jsonObj) boolPtr(k string, v *bool) {
	if v != nil {
		o.key(k)
		o.b = strconv.AppendBool(o.b, *v)
	}
}

func (o *jsonObj) time(k string, t time.Time) error {
	o.key(k)
	var err error
	o.b, err = appendJSONTime(o.b, t)
	return err
}

func (o *jsonObj) timePtr(k string, t *time.Time) error {
	if t == nil {
		return nil
	}
	return o.time(k, *t)
}

func (o *jsonObj) strs(k string, v []string) {
	if len(v) == 0 {
		return
	}
	o.key(k)
	o.b = append(o.b, '[')
	for i, s := range v {
		if i > 0 {
			o.b = append(o.b, ',')
		}
		o.b = appendJSONString(o.b, s)
	}
	o.b = append(o.b, ']')
}

func (o *jsonObj) open(k string) {
	o.key(k)
	o.b = append(o.b, '{')
	o.first = true
}

func (o *jsonObj) close() {
	o.b = append(o.b, '}')
	o.first = false
}

func (o *jsonObj) party(k string, p *Party) {
	if p == nil {
		return
	}
	o.open(k)
	o.strOmit("address", p.Address)
	o.strOmit("terminal", p.Terminal)
	o.close()
}

// appendData appends the JSON of d, byte for byte what json.Marshal(d)
// returns.
func appendData(b []byte, d *Data) ([]byte, error) {
	o := jsonObj{b: append(b, '{'), first: true}
	o.str("event", d.Event)
	o.intOmit("eventId", int64(d.EventID))
	o.intOmit("cause", int64(d.Cause))
	o.strOmit("causeName", d.CauseName)
	o.intOmit("callControlCause", int64(d.CallControlCause))
	o.intOmit("metaCode", int64(d.MetaCode))
	o.strOmit("metaName", d.MetaName)
	o.boolOmit("snapshot", d.Snapshot)
	o.boolOmit("inferred", d.Inferred)
	o.open("times")
	if err := o.time("upstream", d.Times.Upstream); err != nil {
		return nil, err
	}
	if err := o.time("received", d.Times.Received); err != nil {
		return nil, err
	}
	if !d.Times.Published.IsZero() {
		if err := o.time("published", d.Times.Published); err != nil {
			return nil, err
		}
	}
	o.close()
	if p := d.Provider; p != nil {
		o.open("provider")
		o.str("state", p.State)
		o.int("stateCode", int64(p.StateCode))
		o.strOmit("ctiManager", p.CTIManager)
		o.strOmit("previousCtiManager", p.PreviousCTIManager)
		o.boolOmit("leastPriority", p.LeastPriority)
		o.strOmit("reason", p.Reason)
		o.intOmit("reasonCode", int64(p.ReasonCode))
		o.strOmit("detail", p.Detail)
		o.strOmit("providerId", p.ProviderID)
		o.intOmit("serverHeartbeatMs", p.ServerHeartbeatMs)
		o.intOmit("clientHeartbeatMs", p.ClientHeartbeatMs)
		if err := o.timePtr("lastHeardAt", p.LastHeardAt); err != nil {
			return nil, err
		}
		o.intOmit("devices", int64(p.Devices))
		o.intOmit("attempt", int64(p.Attempt))
		o.strs("reachable", p.Reachable)
		o.close()
	}
	if t := d.Terminal; t != nil {
		o.open("terminal")
		o.str("name", t.Name)
		o.strOmit("type", t.Type)
		o.strOmit("state", t.State)
		o.strOmit("callManager", t.CallManager)
		o.boolPtr("registered", t.Registered)
		o.strOmit("mediaIp", t.MediaIP)
		o.intOmit("mediaPort", int64(t.MediaPort))
		o.strs("mediaCodecs", t.MediaCodecs)
		o.strs("addresses", t.Addresses)
		o.boolOmit("observed", t.Observed)
		o.close()
	}
	if a := d.Address; a != nil {
		o.open("address")
		o.str("dn", a.DN)
		o.strOmit("terminal", a.Terminal)
		o.strOmit("state", a.State)
		o.boolOmit("observed", a.Observed)
		o.close()
	}
	if c := d.Call; c != nil {
		appendCall(&o, c)
	}
	if r := d.Route; r != nil {
		o.open("route")
		o.str("address", r.Address)
		o.strOmit("terminal", r.Terminal)
		o.strOmit("sessionId", r.SessionID)
		o.strOmit("callId", r.CallID)
		o.party("calling", r.Calling)
		o.party("called", r.Called)
		o.strOmit("selected", r.Selected)
		o.strOmit("state", r.State)
		o.intOmit("cause", int64(r.Cause))
		o.strOmit("causeName", r.CauseName)
		o.boolPtr("registered", r.Registered)
		o.boolOmit("callbackKept", r.CallbackKept)
		o.close()
	}
	if m := d.Media; m != nil {
		o.open("media")
		o.str("terminal", m.Terminal)
		o.str("kind", m.Kind)
		o.strOmit("ip", m.IP)
		o.intOmit("port", int64(m.Port))
		o.strOmit("codec", m.Codec)
		o.intOmit("packetMs", int64(m.PacketMs))
		o.close()
	}
	if br := d.Bridge; br != nil {
		o.open("bridge")
		o.strOmit("instance", br.Instance)
		o.strOmit("version", br.Version)
		o.strOmit("reason", br.Reason)
		o.strOmit("detail", br.Detail)
		if g := br.Gap; g != nil {
			o.open("gap")
			o.str("id", g.ID)
			o.str("kind", g.Kind)
			if err := o.time("openedAt", g.OpenedAt); err != nil {
				return nil, err
			}
			if err := o.timePtr("closedAt", g.ClosedAt); err != nil {
				return nil, err
			}
			o.intOmit("durationMs", g.DurationMs)
			o.strOmit("reason", g.Reason)
			o.intOmit("callsBefore", int64(g.CallsBefore))
			o.intOmit("callsAfter", int64(g.CallsAfter))
			o.intOmit("callsEnded", int64(g.CallsEnded))
			o.intOmit("callsDiscovered", int64(g.CallsDiscovered))
			o.intOmit("callsContinued", int64(g.CallsContinued))
			o.intOmit("dropped", int64(g.Dropped))
			o.strOmit("firstDropped", g.FirstDropped)
			o.strOmit("lastDropped", g.LastDropped)
			o.close()
		}
		o.close()
	}
	o.close()
	return o.b, nil
}

func appendCall(o *jsonObj, c *CallData) {
	o.open("call")
	o.str("callId", c.CallID)
	o.strOmit("state", c.State)
	o.intOmit("stateCode", int64(c.StateCode))
	o.strOmit("callManager", c.CallManager)
	o.party("calling", c.Calling)
	o.party("called", c.Called)
	o.party("currentCalling", c.CurrentCalling)
	o.party("currentCalled", c.CurrentCalled)
	o.party("lastRedirecting", c.LastRedirecting)
	if cn := c.Connection; cn != nil {
		o.open("connection")
		o.str("address", cn.Address)
		o.str("state", cn.State)
		o.int("stateCode", int64(cn.StateCode))
		o.str("callControlState", cn.CallControlState)
		o.int("callControlStateCode", int64(cn.CallControlStateCode))
		o.strOmit("reason", cn.Reason)
		o.boolOmit("transient", cn.Transient)
		o.boolOmit("controlled", cn.Controlled)
		o.close()
	}
	if tc := c.TerminalConnection; tc != nil {
		o.open("terminalConnection")
		o.str("terminal", tc.Terminal)
		o.str("address", tc.Address)
		o.str("state", tc.State)
		o.int("stateCode", int64(tc.StateCode))
		o.str("callControlState", tc.CallControlState)
		o.int("callControlStateCode", int64(tc.CallControlStateCode))
		o.close()
	}
	if f := c.Feature; f != nil {
		o.open("feature")
		o.str("feature", f.Feature)
		o.str("phase", f.Phase)
		o.party("controller", f.Controller)
		o.str("primaryCallId", f.PrimaryCallID)
		o.strOmit("consultCallId", f.ConsultCallID)
		o.strOmit("resultCallId", f.ResultCallID)
		o.boolOmit("blind", f.Blind)
		o.close()
	}
	o.strOmit("originalCallId", c.OriginalCallID)
	o.strOmit("gapId", c.GapID)
	o.close()
}
