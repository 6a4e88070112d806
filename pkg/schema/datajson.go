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

// appendUTC appends t, which must be in time.UTC with a year in
// [0, 9999], as t.AppendFormat(b, time.RFC3339Nano) does, without the
// general layout machinery.
func appendUTC(b []byte, t time.Time) []byte {
	y, mo, d := t.Date()
	hh, mm, ss := t.Clock()
	b = append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+mo/10), byte('0'+mo%10), '-', byte('0'+d/10), byte('0'+d%10), 'T',
		byte('0'+hh/10), byte('0'+hh%10), ':', byte('0'+mm/10), byte('0'+mm%10), ':',
		byte('0'+ss/10), byte('0'+ss%10))
	if ns := t.Nanosecond(); ns != 0 {
		var frac [10]byte
		frac[0] = '.'
		for i := 9; i >= 1; i-- {
			frac[i] = byte('0' + ns%10)
			ns /= 10
		}
		n := 10
		for frac[n-1] == '0' {
			n--
		}
		b = append(b, frac[:n]...)
	}
	return append(b, 'Z')
}

// utcFast reports whether appendUTC can format t.
func utcFast(t time.Time) bool {
	if t.Location() != time.UTC {
		return false
	}
	y := t.Year()
	return y >= 0 && y <= 9999
}

// appendJSONTime appends t as time.Time.MarshalJSON does, with its errors.
func appendJSONTime(b []byte, t time.Time) ([]byte, error) {
	if utcFast(t) {
		b = append(b, '"')
		b = appendUTC(b, t)
		return append(b, '"'), nil
	}
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

// The appenders below write one member each. k is the member's key
// written out with its quotes, colon and, unless it is the first member of
// its object, the leading comma: `,"name":`. Data and every nested type
// have a first member that is never omitted, except Party and BridgeData,
// which appendParty and the bridge section handle.

func jStr(b []byte, k, v string) []byte {
	b = append(b, k...)
	return appendJSONString(b, v)
}

func jStrOmit(b []byte, k, v string) []byte {
	if v == "" {
		return b
	}
	return jStr(b, k, v)
}

func jInt(b []byte, k string, v int64) []byte {
	b = append(b, k...)
	return strconv.AppendInt(b, v, 10)
}

func jIntOmit(b []byte, k string, v int64) []byte {
	if v == 0 {
		return b
	}
	return jInt(b, k, v)
}

func jBoolOmit(b []byte, k string, v bool) []byte {
	if !v {
		return b
	}
	b = append(b, k...)
	return append(b, "true"...)
}

func jBoolPtr(b []byte, k string, v *bool) []byte {
	if v == nil {
		return b
	}
	b = append(b, k...)
	return strconv.AppendBool(b, *v)
}

func jTime(b []byte, k string, t time.Time) ([]byte, error) {
	b = append(b, k...)
	return appendJSONTime(b, t)
}

func jTimePtr(b []byte, k string, t *time.Time) ([]byte, error) {
	if t == nil {
		return b, nil
	}
	return jTime(b, k, *t)
}

func jStrs(b []byte, k string, v []string) []byte {
	if len(v) == 0 {
		return b
	}
	b = append(b, k...)
	b = append(b, '[')
	for i, s := range v {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	return append(b, ']')
}

// jParty appends a Party member; all of its fields are omitempty.
func jParty(b []byte, k string, p *Party) []byte {
	if p == nil {
		return b
	}
	b = append(b, k...)
	b = append(b, '{')
	n := len(b)
	if p.Address != "" {
		b = jStr(b, `"address":`, p.Address)
	}
	if p.Terminal != "" {
		if len(b) > n {
			b = append(b, ',')
		}
		b = jStr(b, `"terminal":`, p.Terminal)
	}
	if p.External {
		if len(b) > n {
			b = append(b, ',')
		}
		b = append(b, `"external":true`...)
	}
	return append(b, '}')
}

// appendData appends the JSON of d, byte for byte what json.Marshal(d)
// returns.
func appendData(b []byte, d *Data) ([]byte, error) {
	var err error
	b = append(b, '{')
	b = jStr(b, `"event":`, d.Event)
	b = jIntOmit(b, `,"eventId":`, int64(d.EventID))
	b = jIntOmit(b, `,"cause":`, int64(d.Cause))
	b = jStrOmit(b, `,"causeName":`, d.CauseName)
	b = jIntOmit(b, `,"callControlCause":`, int64(d.CallControlCause))
	b = jIntOmit(b, `,"metaCode":`, int64(d.MetaCode))
	b = jStrOmit(b, `,"metaName":`, d.MetaName)
	b = jIntOmit(b, `,"ciscoCause":`, int64(d.CiscoCause))
	b = jStrOmit(b, `,"ciscoCauseName":`, d.CiscoCauseName)
	b = jBoolOmit(b, `,"snapshot":`, d.Snapshot)
	b = jBoolOmit(b, `,"inferred":`, d.Inferred)
	b = jBoolOmit(b, `,"recovered":`, d.Recovered)
	if b, err = jTime(b, `,"times":{"upstream":`, d.Times.Upstream); err != nil {
		return nil, err
	}
	if b, err = jTime(b, `,"received":`, d.Times.Received); err != nil {
		return nil, err
	}
	if !d.Times.Published.IsZero() {
		if b, err = jTime(b, `,"published":`, d.Times.Published); err != nil {
			return nil, err
		}
	}
	b = append(b, '}')
	if p := d.Provider; p != nil {
		b = jStr(b, `,"provider":{"state":`, p.State)
		b = jInt(b, `,"stateCode":`, int64(p.StateCode))
		b = jStrOmit(b, `,"ctiManager":`, p.CTIManager)
		b = jStrOmit(b, `,"previousCtiManager":`, p.PreviousCTIManager)
		b = jBoolOmit(b, `,"leastPriority":`, p.LeastPriority)
		b = jStrOmit(b, `,"reason":`, p.Reason)
		b = jIntOmit(b, `,"reasonCode":`, int64(p.ReasonCode))
		b = jStrOmit(b, `,"detail":`, p.Detail)
		b = jStrOmit(b, `,"providerId":`, p.ProviderID)
		b = jIntOmit(b, `,"serverHeartbeatMs":`, p.ServerHeartbeatMs)
		b = jIntOmit(b, `,"clientHeartbeatMs":`, p.ClientHeartbeatMs)
		if b, err = jTimePtr(b, `,"lastHeardAt":`, p.LastHeardAt); err != nil {
			return nil, err
		}
		b = jIntOmit(b, `,"devices":`, int64(p.Devices))
		b = jIntOmit(b, `,"attempt":`, int64(p.Attempt))
		b = jStrs(b, `,"reachable":`, p.Reachable)
		b = jStrOmit(b, `,"device":`, p.Device)
		b = append(b, '}')
	}
	if t := d.Terminal; t != nil {
		b = jStr(b, `,"terminal":{"name":`, t.Name)
		b = jStrOmit(b, `,"type":`, t.Type)
		b = jStrOmit(b, `,"state":`, t.State)
		b = jStrOmit(b, `,"callManager":`, t.CallManager)
		b = jBoolPtr(b, `,"registered":`, t.Registered)
		b = jStrOmit(b, `,"mediaIp":`, t.MediaIP)
		b = jIntOmit(b, `,"mediaPort":`, int64(t.MediaPort))
		b = jStrs(b, `,"mediaCodecs":`, t.MediaCodecs)
		b = jStrs(b, `,"addresses":`, t.Addresses)
		b = jBoolOmit(b, `,"observed":`, t.Observed)
		b = append(b, '}')
	}
	if a := d.Address; a != nil {
		b = jStr(b, `,"address":{"dn":`, a.DN)
		b = jStrOmit(b, `,"terminal":`, a.Terminal)
		b = jStrOmit(b, `,"state":`, a.State)
		b = jBoolOmit(b, `,"observed":`, a.Observed)
		b = append(b, '}')
	}
	if c := d.Call; c != nil {
		b = appendCall(b, c)
	}
	if r := d.Route; r != nil {
		b = jStr(b, `,"route":{"address":`, r.Address)
		b = jStrOmit(b, `,"terminal":`, r.Terminal)
		b = jStrOmit(b, `,"sessionId":`, r.SessionID)
		b = jStrOmit(b, `,"callId":`, r.CallID)
		b = jParty(b, `,"calling":`, r.Calling)
		b = jParty(b, `,"called":`, r.Called)
		b = jStrOmit(b, `,"selected":`, r.Selected)
		b = jStrOmit(b, `,"state":`, r.State)
		b = jIntOmit(b, `,"cause":`, int64(r.Cause))
		b = jStrOmit(b, `,"causeName":`, r.CauseName)
		b = jBoolPtr(b, `,"registered":`, r.Registered)
		b = jBoolOmit(b, `,"callbackKept":`, r.CallbackKept)
		b = append(b, '}')
	}
	if m := d.Media; m != nil {
		b = jStr(b, `,"media":{"terminal":`, m.Terminal)
		b = jStr(b, `,"kind":`, m.Kind)
		b = jStrOmit(b, `,"ip":`, m.IP)
		b = jIntOmit(b, `,"port":`, int64(m.Port))
		b = jStrOmit(b, `,"codec":`, m.Codec)
		b = jIntOmit(b, `,"packetMs":`, int64(m.PacketMs))
		b = append(b, '}')
	}
	if br := d.Bridge; br != nil {
		if b, err = appendBridge(b, br); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

// appendBridge appends the bridge section. All of BridgeData's fields are
// omitempty, so every member is written with a leading comma and the one
// after the brace, if any, is removed at the end.
func appendBridge(b []byte, br *BridgeData) ([]byte, error) {
	var err error
	b = append(b, `,"bridge":{`...)
	open := len(b)
	b = jStrOmit(b, `,"instance":`, br.Instance)
	b = jStrOmit(b, `,"version":`, br.Version)
	b = jStrOmit(b, `,"reason":`, br.Reason)
	b = jStrOmit(b, `,"detail":`, br.Detail)
	if g := br.Gap; g != nil {
		b = jStr(b, `,"gap":{"id":`, g.ID)
		b = jStr(b, `,"kind":`, g.Kind)
		if b, err = jTime(b, `,"openedAt":`, g.OpenedAt); err != nil {
			return nil, err
		}
		if b, err = jTimePtr(b, `,"detectedAt":`, g.DetectedAt); err != nil {
			return nil, err
		}
		if b, err = jTimePtr(b, `,"closedAt":`, g.ClosedAt); err != nil {
			return nil, err
		}
		b = jIntOmit(b, `,"durationMs":`, g.DurationMs)
		b = jStrOmit(b, `,"reason":`, g.Reason)
		b = jIntOmit(b, `,"callsBefore":`, int64(g.CallsBefore))
		b = jIntOmit(b, `,"callsAfter":`, int64(g.CallsAfter))
		b = jIntOmit(b, `,"callsEnded":`, int64(g.CallsEnded))
		b = jIntOmit(b, `,"callsDiscovered":`, int64(g.CallsDiscovered))
		b = jIntOmit(b, `,"callsContinued":`, int64(g.CallsContinued))
		b = jIntOmit(b, `,"dropped":`, int64(g.Dropped))
		b = jStrOmit(b, `,"firstDropped":`, g.FirstDropped)
		b = jStrOmit(b, `,"lastDropped":`, g.LastDropped)
		b = jStrOmit(b, `,"wavesFrom":`, g.WavesFrom)
		if len(g.Waves) > 0 {
			b = append(b, `,"waves":[`...)
			for i := range g.Waves {
				w := &g.Waves[i]
				if i > 0 {
					b = append(b, ',')
				}
				b = jStr(b, `{"event":`, w.Event)
				b = jInt(b, `,"count":`, int64(w.Count))
				b = jIntOmit(b, `,"entities":`, int64(w.Entities))
				if b, err = jTime(b, `,"first":`, w.First); err != nil {
					return nil, err
				}
				if b, err = jTime(b, `,"last":`, w.Last); err != nil {
					return nil, err
				}
				b = jStr(b, `,"firstId":`, w.FirstID)
				b = append(b, '}')
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	if l := br.Leader; l != nil {
		b = append(b, `,"leader":{"epoch":`...)
		b = strconv.AppendUint(b, l.Epoch, 10)
		b = jStrOmit(b, `,"mode":`, l.Mode)
		b = jStrOmit(b, `,"previousInstance":`, l.PreviousInstance)
		if l.PreviousEpoch != 0 {
			b = append(b, `,"previousEpoch":`...)
			b = strconv.AppendUint(b, l.PreviousEpoch, 10)
		}
		b = jStrOmit(b, `,"previousEnd":`, l.PreviousEnd)
		b = jIntOmit(b, `,"waitMs":`, l.WaitMs)
		b = jStrOmit(b, `,"providerState":`, l.ProviderState)
		b = jStrOmit(b, `,"ctiManager":`, l.CTIManager)
		b = append(b, '}')
	}
	if n := br.NATS; n != nil {
		b = appendNATS(b, n)
	}
	if len(b) > open {
		b = append(b[:open], b[open+1:]...) // drop the first member's comma
	}
	return append(b, '}'), nil
}

// appendNATS appends the bridge section's nats member.
func appendNATS(b []byte, n *NATSData) []byte {
	b = jStr(b, `,"nats":{"stream":`, n.Stream)
	b = jStrOmit(b, `,"leader":`, n.Leader)
	b = jStrOmit(b, `,"previousLeader":`, n.PreviousLeader)
	if len(n.Replicas) > 0 {
		b = append(b, `,"replicas":[`...)
		for i := range n.Replicas {
			if i > 0 {
				b = append(b, ',')
			}
			b = jStr(b, `{"name":`, n.Replicas[i].Name)
			b = append(b, `,"current":`...)
			b = strconv.AppendBool(b, n.Replicas[i].Current)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if n.LostLastSeq != 0 {
		b = append(b, `,"lostLastSeq":`...)
		b = strconv.AppendUint(b, n.LostLastSeq, 10)
	}
	return append(b, '}')
}

func appendCall(b []byte, c *CallData) []byte {
	b = jStr(b, `,"call":{"callId":`, c.CallID)
	b = jStrOmit(b, `,"state":`, c.State)
	b = jIntOmit(b, `,"stateCode":`, int64(c.StateCode))
	b = jStrOmit(b, `,"callManager":`, c.CallManager)
	b = jParty(b, `,"calling":`, c.Calling)
	b = jParty(b, `,"called":`, c.Called)
	b = jParty(b, `,"currentCalling":`, c.CurrentCalling)
	b = jParty(b, `,"currentCalled":`, c.CurrentCalled)
	b = jParty(b, `,"lastRedirecting":`, c.LastRedirecting)
	if cn := c.Connection; cn != nil {
		b = jStr(b, `,"connection":{"address":`, cn.Address)
		b = jStr(b, `,"state":`, cn.State)
		b = jInt(b, `,"stateCode":`, int64(cn.StateCode))
		b = jStr(b, `,"callControlState":`, cn.CallControlState)
		b = jInt(b, `,"callControlStateCode":`, int64(cn.CallControlStateCode))
		b = jStrOmit(b, `,"reason":`, cn.Reason)
		b = jBoolOmit(b, `,"transient":`, cn.Transient)
		b = jBoolOmit(b, `,"controlled":`, cn.Controlled)
		b = append(b, '}')
	}
	if tc := c.TerminalConnection; tc != nil {
		b = jStr(b, `,"terminalConnection":{"terminal":`, tc.Terminal)
		b = jStr(b, `,"address":`, tc.Address)
		b = jStr(b, `,"state":`, tc.State)
		b = jInt(b, `,"stateCode":`, int64(tc.StateCode))
		b = jStr(b, `,"callControlState":`, tc.CallControlState)
		b = jInt(b, `,"callControlStateCode":`, int64(tc.CallControlStateCode))
		b = append(b, '}')
	}
	if f := c.Feature; f != nil {
		b = jStr(b, `,"feature":{"feature":`, f.Feature)
		b = jStr(b, `,"phase":`, f.Phase)
		b = jParty(b, `,"controller":`, f.Controller)
		b = jStr(b, `,"primaryCallId":`, f.PrimaryCallID)
		b = jStrOmit(b, `,"consultCallId":`, f.ConsultCallID)
		b = jStrOmit(b, `,"resultCallId":`, f.ResultCallID)
		b = jBoolOmit(b, `,"blind":`, f.Blind)
		b = jBoolOmit(b, `,"failed":`, f.Failed)
		b = append(b, '}')
	}
	b = jStrOmit(b, `,"originalCallId":`, c.OriginalCallID)
	b = jStrOmit(b, `,"gapId":`, c.GapID)
	return append(b, '}')
}
