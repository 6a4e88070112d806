package schema

import (
	"encoding/json"
	"math"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// A fast reader for the data JSON the encoder writes (Decode's hot path:
// replay folds whole streams through it). It accepts a strict subset of
// what encoding/json accepts into Data: known member names spelled
// exactly, each at most once, no nulls, strings in valid UTF-8, integers
// of at most 18 digits. On anything else it gives up and unmarshalData
// falls back to encoding/json, so the result is always what json.Unmarshal
// would produce (TestFastDecodeMatchesEncodingJSON and FuzzDataDecode
// check it).

// unmarshalData decodes data into d (which must be the zero Data).
func unmarshalData(data []byte, d *Data) error {
	if fastData {
		r := jr{b: data}
		if r.data(d) && r.end() {
			return nil
		}
		*d = Data{}
	}
	// Through a copy: handing d itself to encoding/json would move every
	// caller's Event to the heap, fallback or not.
	tmp := new(Data)
	if err := json.Unmarshal(data, tmp); err != nil {
		return err
	}
	*d = *tmp
	return nil
}

// jr reads JSON from b; every method returns false when the input leaves
// the fast subset (or is not JSON).
type jr struct {
	b []byte
	i int
	// parties is a block of Party values handed out by newParty: a call
	// event names up to five parties, one allocation serves them all.
	parties []Party
}

// newParty returns a zero Party from the reader's block.
func (r *jr) newParty() *Party {
	if len(r.parties) == 0 {
		r.parties = make([]Party, 4)
	}
	p := &r.parties[0]
	r.parties = r.parties[1:]
	return p
}

func (r *jr) ws() {
	// The encoder writes no whitespace: one comparison settles the usual
	// case and keeps ws small enough to inline.
	if r.i < len(r.b) && r.b[r.i] > ' ' {
		return
	}
	r.wsSlow()
}

func (r *jr) wsSlow() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

func (r *jr) end() bool {
	r.ws()
	return r.i == len(r.b)
}

func (r *jr) byte(c byte) bool {
	r.ws()
	if r.i < len(r.b) && r.b[r.i] == c {
		r.i++
		return true
	}
	return false
}

// skipValue moves past one value of input already known to be valid
// JSON (json.Valid).
func (r *jr) skipValue() {
	r.ws()
	if r.i >= len(r.b) {
		return
	}
	switch r.b[r.i] {
	case '"':
		r.skipString()
	case '{', '[':
		depth := 0
		for r.i < len(r.b) {
			switch r.b[r.i] {
			case '"':
				r.skipString()
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					r.i++
					return
				}
			}
			r.i++
		}
	default: // a number or a literal runs until a delimiter
		for r.i < len(r.b) {
			switch r.b[r.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return
			}
			r.i++
		}
	}
}

// skipString moves past the string starting at r.i.
func (r *jr) skipString() {
	for r.i++; r.i < len(r.b); r.i++ {
		switch r.b[r.i] {
		case '\\':
			r.i++
		case '"':
			r.i++
			return
		}
	}
	r.i = len(r.b)
}

// strPlain marks the bytes a JSON string holds as they are: printable
// ASCII other than '"' and '\\'.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// rawString returns the content of a string, unescaped (a sub-slice of
// the input when it has no escapes).
func (r *jr) rawString() ([]byte, bool) {
	r.ws()
	if r.i >= len(r.b) || r.b[r.i] != '"' {
		return nil, false
	}
	start := r.i + 1
	high := false
	for j := start; j < len(r.b); j++ {
		// Skip the run of plain ASCII (most strings are all of it) with
		// one table look-up a byte.
		for j < len(r.b) && strPlain[r.b[j]] {
			j++
		}
		if j >= len(r.b) {
			break
		}
		c := r.b[j]
		switch {
		case c == '"':
			s := r.b[start:j]
			if high && !utf8.Valid(s) {
				return nil, false
			}
			r.i = j + 1
			return s, true
		case c == '\\':
			return r.unescape(start, j)
		case c < 0x20:
			return nil, false
		case c >= utf8.RuneSelf:
			high = true
		}
	}
	return nil, false
}

// unescape reads a string with escapes from the one at j on, as
// encoding/json's unquote does: \" \\ \/ \b \f \n \r \t and \uXXXX,
// surrogate pairs combined, a lone surrogate becoming U+FFFD.
func (r *jr) unescape(start, j int) ([]byte, bool) {
	out := make([]byte, 0, j-start+16)
	out = append(out, r.b[start:j]...)
	for j < len(r.b) {
		c := r.b[j]
		switch {
		case c == '"':
			if !utf8.Valid(out) {
				return nil, false
			}
			r.i = j + 1
			return out, true
		case c < 0x20:
			return nil, false
		case c != '\\':
			out = append(out, c)
			j++
			continue
		}
		if j+1 >= len(r.b) {
			return nil, false
		}
		switch r.b[j+1] {
		case '"', '\\', '/':
			out = append(out, r.b[j+1])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			rr := getu4(r.b[j:])
			if rr < 0 {
				return nil, false
			}
			j += 6
			if utf16.IsSurrogate(rr) {
				if dec := utf16.DecodeRune(rr, getu4(r.b[j:])); dec != unicode.ReplacementChar {
					j += 6
					out = utf8.AppendRune(out, dec)
					continue
				}
				rr = unicode.ReplacementChar
			}
			out = utf8.AppendRune(out, rr)
			continue
		default:
			return nil, false
		}
		j += 2
	}
	return nil, false
}

// getu4 decodes \uXXXX at the start of s, or returns -1.
func getu4(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range s[2:6] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

func (r *jr) str(dst *string) bool {
	s, ok := r.rawString()
	if ok {
		*dst = intern(s)
	}
	return ok
}

// quoted returns a whole string literal, quotes included, escapes
// allowed: what encoding/json hands to a json.Unmarshaler.
func (r *jr) quoted() ([]byte, bool) {
	r.ws()
	if r.i >= len(r.b) || r.b[r.i] != '"' {
		return nil, false
	}
	for j := r.i + 1; j < len(r.b); j++ {
		switch c := r.b[j]; {
		case c == '\\':
			j++
		case c == '"':
			lit := r.b[r.i : j+1]
			r.i = j + 1
			return lit, true
		case c < 0x20:
			return nil, false
		}
	}
	return nil, false
}

func (r *jr) int64(dst *int64) bool {
	r.ws()
	j := r.i
	neg := j < len(r.b) && r.b[j] == '-'
	if neg {
		j++
	}
	start := j
	var n int64
	for j < len(r.b) && r.b[j] >= '0' && r.b[j] <= '9' {
		n = n*10 + int64(r.b[j]-'0')
		j++
	}
	digits := j - start
	if digits == 0 || digits > 18 || (digits > 1 && r.b[start] == '0') {
		return false
	}
	if j < len(r.b) && (r.b[j] == '.' || r.b[j] == 'e' || r.b[j] == 'E') {
		return false
	}
	if neg {
		n = -n
	}
	r.i = j
	*dst = n
	return true
}

func (r *jr) int(dst *int) bool {
	var n int64
	if !r.int64(&n) || int64(int(n)) != n {
		return false
	}
	*dst = int(n)
	return true
}

func (r *jr) bool(dst *bool) bool {
	r.ws()
	switch {
	case len(r.b)-r.i >= 4 && string(r.b[r.i:r.i+4]) == "true":
		r.i += 4
		*dst = true
	case len(r.b)-r.i >= 5 && string(r.b[r.i:r.i+5]) == "false":
		r.i += 5
		*dst = false
	default:
		return false
	}
	return true
}

func (r *jr) boolPtr(dst **bool) bool {
	v := new(bool)
	*dst = v
	return r.bool(v)
}

func (r *jr) time(dst *time.Time) bool {
	lit, ok := r.quoted()
	return ok && dst.UnmarshalJSON(lit) == nil
}

func (r *jr) timePtr(dst **time.Time) bool {
	t := new(time.Time)
	*dst = t
	return r.time(t)
}

func (r *jr) strs(dst *[]string) bool {
	if !r.byte('[') {
		return false
	}
	out := []string{}
	if r.byte(']') {
		*dst = out
		return true
	}
	for {
		var s string
		if !r.str(&s) {
			return false
		}
		out = append(out, s)
		if r.byte(']') {
			*dst = out
			return true
		}
		if !r.byte(',') {
			return false
		}
	}
}

// object reads an object, calling member for each key (the reader then
// at the value). member returns false to give up. seen catches repeated
// keys: member reports a distinct bit per known key.
func (r *jr) object(member func(key []byte) (bit uint64, ok bool)) bool {
	if !r.byte('{') {
		return false
	}
	if r.byte('}') {
		return true
	}
	var seen uint64
	for {
		k, ok := r.rawString()
		if !ok || !r.byte(':') {
			return false
		}
		bit, ok := member(k)
		if !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
		if r.byte('}') {
			return true
		}
		if !r.byte(',') {
			return false
		}
	}
}

// ok turns a field decode into an object member result.
func ok(bit uint64, good bool) (uint64, bool) { return bit, good }

func (r *jr) data(d *Data) bool {
	return r.object(func(k []byte) (uint64, bool) {
		switch string(k) {
		case "event":
			return ok(1<<0, r.str(&d.Event))
		case "eventId":
			return ok(1<<1, r.int(&d.EventID))
		case "cause":
			return ok(1<<2, r.int(&d.Cause))
		case "causeName":
			return ok(1<<3, r.str(&d.CauseName))
		case "callControlCause":
			return ok(1<<4, r.int(&d.CallControlCause))
		case "metaCode":
			return ok(1<<5, r.int(&d.MetaCode))
		case "metaName":
			return ok(1<<6, r.str(&d.MetaName))
		case "snapshot":
			return ok(1<<7, r.bool(&d.Snapshot))
		case "inferred":
			return ok(1<<8, r.bool(&d.Inferred))
		case "recovered":
			return ok(1<<19, r.bool(&d.Recovered))
		case "times":
			return ok(1<<9, r.times(&d.Times))
		case "provider":
			d.Provider = new(ProviderData)
			return ok(1<<10, r.provider(d.Provider))
		case "terminal":
			d.Terminal = new(TerminalData)
			return ok(1<<11, r.terminal(d.Terminal))
		case "address":
			d.Address = new(AddressData)
			return ok(1<<12, r.address(d.Address))
		case "call":
			d.Call = new(CallData)
			return ok(1<<13, r.call(d.Call))
		case "route":
			d.Route = new(RouteData)
			return ok(1<<14, r.route(d.Route))
		case "media":
			d.Media = new(MediaData)
			return ok(1<<15, r.media(d.Media))
		case "bridge":
			d.Bridge = new(BridgeData)
			return ok(1<<16, r.bridge(d.Bridge))
		case "ciscoCause":
			return ok(1<<17, r.int(&d.CiscoCause))
		case "ciscoCauseName":
			return ok(1<<18, r.str(&d.CiscoCauseName))
		}
		return 0, false
	})
}

func (r *jr) times(t *Timestamps) bool {
	return r.object(func(k []byte) (uint64, bool) {
		switch string(k) {
		case "upstream":
			return ok(1<<0, r.time(&t.Upstream))
		case "received":
			return ok(1<<1, r.time(&t.Received))
		case "published":
			return ok(1<<2, r.time(&t.Published))
		}
		return 0, false
	})
}

func (r *jr) provider(p *ProviderData) bool {
	return r.object(func(k []byte) (uint64, bool) {
		switch string(k) {
		case "state":
			return ok(1<<0, r.str(&p.State))
		case "stateCode":
			return ok(1<<1, r.int(&p.StateCode))
		case "ctiManager":
			return ok(1<<2, r.str(&p.CTIManager))
		case "previousCtiManager":
			return ok(1<<3, r.str(&p.PreviousCTIManager))
		case "leastPriority":
			return ok(1<<4, r.bool(&p.LeastPriority))
		case "reason":
			return ok(1<<5, r.str(&p.Reason))
		case "reasonCode":
			return ok(1<<6, r.int(&p.ReasonCode))
		case "detail":
			return ok(1<<7, r.str(&p.Detail))
		case "providerId":
			return ok(1<<8, r.str(&p.ProviderID))
		case "serverHeartbeatMs":
			return ok(1<<9, r.int64(&p.ServerHeartbeatMs))
		case "clientHeartbeatMs":
			return ok(1<<10, r.int64(&p.ClientHeartbeatMs))
		case "lastHeardAt":
			return ok(1<<11, r.timePtr(&p.LastHeardAt))
		case "devices":
			return ok(1<<12, r.int(&p.Devices))
		case "attempt":
			return ok(1<<13, r.int(&p.Attempt))
		case "reachable":
			return ok(1<<14, r.strs(&p.Reachable))
		case "device":
			return ok(1<<15, r.str(&p.Device))
		}
		return 0, false
	})
}

func (r *jr) terminal(t *TerminalData) bool {
	return r.object(func(k []byte) (uint64, bool) {
		switch string(k) {
		case "name":
			return ok(1<<0, r.str(&t.Name))
		case "type":
			return ok(1<<1, r.str(&t.Type))
		case "state":
			return ok(1<<2, r.str(&t.State))
		case "callManager":
			return ok(1<<3, r.str(&t.CallManager))
		case "registered":
			return ok(1<<4, r.boolPtr(&t.Registered))
		case "mediaIp":
			return ok(1<<5, r.str(&t.MediaIP))
		case "mediaPort":
			return ok(1<<6, r.int(&t.MediaPort))
		case "mediaCodecs":
			return ok(1<<7, r.strs(&t.MediaCodecs))
		case "addresses":
			return ok(1<<8, r.strs(&t.Addresses))
		case "observed":
			return ok(1<<9, r.bool(&t.Observed))
		}
		return 0, false
	})
}

func (r *jr) address(a *AddressData) bool {
	return r.object(func(k []byte) (uint64, bool) {
		switch string(k) {
		case "dn":
			return ok(1<<0, r.str(&a.DN))
		case "terminal":
			return ok(1<<1, r.str(&a.Terminal))
		case "state":
			return ok(1<<2, r.str(&a.State))
		case "observed":
			return ok(1<<3, r.bool(&a.Observed))
		}
		return 0, false
	})
}

func (r *jr) party(dst **Party) bool {
	p := r.newParty()
	*dst = p
	return r.object(func(k []byte) (uint64, bool) {
		switch string(k) {
		case "address":
			return ok(1<<0, r.str(&p.Address))
		case "terminal":
			return ok(1<<1, r.str(&p.Terminal))
		case "external":
			return ok(1<<2, r.bool(&p.External))
		}
		return 0, false
	})
}

func (r *jr) call(c *CallData) bool {
	return r.object(func(k []byte) (uint64, bool) {
		switch string(k) {
		case "callId":
			return ok(1<<0, r.str(&c.CallID))
		case "state":
			return ok(1<<1, r.str(&c.State))
		case "stateCode":
			return ok(1<<2, r.int(&c.StateCode))
		case "callManager":
			return ok(1<<3, r.str(&c.CallManager))
		case "calling":
			return ok(1<<4, r.party(&c.Calling))
		case "called":
			return ok(1<<5, r.party(&c.Called))
		case "currentCalling":
			return ok(1<<6, r.party(&c.CurrentCalling))
		case "currentCalled":
			return ok(1<<7, r.party(&c.CurrentCalled))
		case "lastRedirecting":
			return ok(1<<8, r.party(&c.LastRedirecting))
		case "connection":
			c.Connection = new(ConnectionData)
			return ok(1<<9, r.connection(c.Connection))
		case "terminalConnection":
			c.TerminalConnection = new(TerminalConnectionData)
			return ok(1<<10, r.termConn(c.TerminalConnection))
		case "feature":
			c.Feature = new(FeatureData)
			return ok(1<<11, r.feature(c.Feature))
		case "originalCallId":
			return ok(1<<12, r.str(&c.OriginalCallID))
		case "gapId":
			return ok(1<<13, r.str(&c.GapID))
		}
		return 0, false
	})
}

func (r *jr) connection(c *ConnectionData) bool {
	return r.object(func(k []byte) (uint64, bool) {
		switch string(k) {
		case "address":
			return ok(1<<0, r.str(&c.Address))
		case "state":
			return ok(1<<1, r.str(&c.State))
		case "stateCode":
			return ok(1<<2, r.int(&c.StateCode))
		case "callControlState":
			return ok(1<<3, r.str(&c.CallControlState))
		case "callControlStateCode":
			return ok(1<<4, r.int(&c.CallControlStateCode))
		case "reason":
			return ok(1<<5, r.str(&c.Reason))
		case "transient":
			return ok(1<<6, r.bool(&c.Transient))
		case "controlled":
			return ok(1<<7, r.bool(&c.Controlled))
		}
		return 0, false
	})
}

func (r *jr) termConn(c *TerminalConnectionData) bool {
	return r.object(func(k []byte) (uint64, bool) {
		switch string(k) {
		case "terminal":
			return ok(1<<0, r.str(&c.Terminal))
		case "address":
			return ok(1<<1, r.str(&c.Address))
		case "state":
			return ok(1<<2, r.str(&c.State))
		case "stateCode":
			return ok(1<<3, r.int(&c.StateCode))
		case "callControlState":
			return ok(1<<4, r.str(&c.CallControlState))
		case "callControlStateCode":
			return ok(1<<5, r.int(&c.CallControlStateCode))
		}
		return 0, false
	})
}

func (r *jr) feature(f *FeatureData) bool {
	return r.object(func(k []byte) (uint64, bool) {
		switch string(k) {
		case "feature":
			return ok(1<<0, r.str(&f.Feature))
		case "phase":
			return ok(1<<1, r.str(&f.Phase))
		case "controller":
			return ok(1<<2, r.party(&f.Controller))
		case "primaryCallId":
			return ok(1<<3, r.str(&f.PrimaryCallID))
		case "consultCallId":
			return ok(1<<4, r.str(&f.ConsultCallID))
		case "resultCallId":
			return ok(1<<5, r.str(&f.ResultCallID))
		case "blind":
			return ok(1<<6, r.bool(&f.Blind))
		case "failed":
			return ok(1<<7, r.bool(&f.Failed))
		}
		return 0, false
	})
}

func (r *jr) route(rt *RouteData) bool {
	return r.object(func(k []byte) (uint64, bool) {
		switch string(k) {
		case "address":
			return ok(1<<0, r.str(&rt.Address))
		case "terminal":
			return ok(1<<1, r.str(&rt.Terminal))
		case "sessionId":
			return ok(1<<2, r.str(&rt.SessionID))
		case "callId":
			return ok(1<<3, r.str(&rt.CallID))
		case "calling":
			return ok(1<<4, r.party(&rt.Calling))
		case "called":
			return ok(1<<5, r.party(&rt.Called))
		case "selected":
			return ok(1<<6, r.str(&rt.Selected))
		case "state":
			return ok(1<<7, r.str(&rt.State))
		case "cause":
			return ok(1<<8, r.int(&rt.Cause))
		case "causeName":
			return ok(1<<9, r.str(&rt.CauseName))
		case "registered":
			return ok(1<<10, r.boolPtr(&rt.Registered))
		case "callbackKept":
			return ok(1<<11, r.bool(&rt.CallbackKept))
		}
		return 0, false
	})
}

func (r *jr) media(m *MediaData) bool {
	return r.object(func(k []byte) (uint64, bool) {
		switch string(k) {
		case "terminal":
			return ok(1<<0, r.str(&m.Terminal))
		case "kind":
			return ok(1<<1, r.str(&m.Kind))
		case "ip":
			return ok(1<<2, r.str(&m.IP))
		case "port":
			return ok(1<<3, r.int(&m.Port))
		case "codec":
			return ok(1<<4, r.str(&m.Codec))
		case "packetMs":
			return ok(1<<5, r.int(&m.PacketMs))
		}
		return 0, false
	})
}

func (r *jr) bridge(b *BridgeData) bool {
	return r.object(func(k []byte) (uint64, bool) {
		switch string(k) {
		case "instance":
			return ok(1<<0, r.str(&b.Instance))
		case "version":
			return ok(1<<1, r.str(&b.Version))
		case "reason":
			return ok(1<<2, r.str(&b.Reason))
		case "detail":
			return ok(1<<3, r.str(&b.Detail))
		case "gap":
			b.Gap = new(Gap)
			return ok(1<<4, r.gap(b.Gap))
		case "leader":
			b.Leader = new(Leader)
			return ok(1<<5, r.leader(b.Leader))
		case "nats":
			b.NATS = new(NATSData)
			return ok(1<<6, r.nats(b.NATS))
		}
		return 0, false
	})
}

func (r *jr) leader(l *Leader) bool {
	return r.object(func(k []byte) (uint64, bool) {
		switch string(k) {
		case "epoch":
			return ok(1<<0, r.uint64(&l.Epoch))
		case "mode":
			return ok(1<<1, r.str(&l.Mode))
		case "previousInstance":
			return ok(1<<2, r.str(&l.PreviousInstance))
		case "previousEpoch":
			return ok(1<<3, r.uint64(&l.PreviousEpoch))
		case "previousEnd":
			return ok(1<<4, r.str(&l.PreviousEnd))
		case "waitMs":
			return ok(1<<5, r.int64(&l.WaitMs))
		case "providerState":
			return ok(1<<9, r.str(&l.ProviderState))
		case "ctiManager":
			return ok(1<<10, r.str(&l.CTIManager))
		}
		return 0, false
	})
}

func (r *jr) nats(n *NATSData) bool {
	return r.object(func(k []byte) (uint64, bool) {
		switch string(k) {
		case "stream":
			return ok(1<<0, r.str(&n.Stream))
		case "leader":
			return ok(1<<1, r.str(&n.Leader))
		case "previousLeader":
			return ok(1<<2, r.str(&n.PreviousLeader))
		case "replicas":
			return ok(1<<3, r.peers(&n.Replicas))
		case "lostLastSeq":
			return ok(1<<4, r.uint64(&n.LostLastSeq))
		}
		return 0, false
	})
}

func (r *jr) peers(dst *[]NATSPeer) bool {
	if !r.byte('[') {
		return false
	}
	out := []NATSPeer{}
	if r.byte(']') {
		*dst = out
		return true
	}
	for {
		var p NATSPeer
		if !r.object(func(k []byte) (uint64, bool) {
			switch string(k) {
			case "name":
				return ok(1<<0, r.str(&p.Name))
			case "current":
				return ok(1<<1, r.bool(&p.Current))
			}
			return 0, false
		}) {
			return false
		}
		out = append(out, p)
		if r.byte(']') {
			*dst = out
			return true
		}
		if !r.byte(',') {
			return false
		}
	}
}

// uint64 reads an unsigned integer over its whole range (stream
// sequences may pass int64's 18 safe digits); anything else falls back.
func (r *jr) uint64(dst *uint64) bool {
	r.ws()
	j := r.i
	var n uint64
	for j < len(r.b) && r.b[j] >= '0' && r.b[j] <= '9' {
		d := uint64(r.b[j] - '0')
		if n > (math.MaxUint64-d)/10 {
			return false // overflows uint64: encoding/json rejects it too
		}
		n = n*10 + d
		j++
	}
	digits := j - r.i
	if digits == 0 || (digits > 1 && r.b[r.i] == '0') {
		return false
	}
	if j < len(r.b) && (r.b[j] == '.' || r.b[j] == 'e' || r.b[j] == 'E') {
		return false
	}
	r.i = j
	*dst = n
	return true
}

func (r *jr) gap(g *Gap) bool {
	return r.object(func(k []byte) (uint64, bool) {
		switch string(k) {
		case "id":
			return ok(1<<0, r.str(&g.ID))
		case "kind":
			return ok(1<<1, r.str(&g.Kind))
		case "openedAt":
			return ok(1<<2, r.time(&g.OpenedAt))
		case "closedAt":
			return ok(1<<3, r.timePtr(&g.ClosedAt))
		case "durationMs":
			return ok(1<<4, r.int64(&g.DurationMs))
		case "reason":
			return ok(1<<5, r.str(&g.Reason))
		case "callsBefore":
			return ok(1<<6, r.int(&g.CallsBefore))
		case "callsAfter":
			return ok(1<<7, r.int(&g.CallsAfter))
		case "callsEnded":
			return ok(1<<8, r.int(&g.CallsEnded))
		case "callsDiscovered":
			return ok(1<<9, r.int(&g.CallsDiscovered))
		case "callsContinued":
			return ok(1<<10, r.int(&g.CallsContinued))
		case "dropped":
			return ok(1<<11, r.int(&g.Dropped))
		case "firstDropped":
			return ok(1<<12, r.str(&g.FirstDropped))
		case "lastDropped":
			return ok(1<<13, r.str(&g.LastDropped))
		case "detectedAt":
			return ok(1<<14, r.timePtr(&g.DetectedAt))
		case "wavesFrom":
			return ok(1<<15, r.str(&g.WavesFrom))
		case "waves":
			return ok(1<<16, r.waves(&g.Waves))
		}
		return 0, false
	})
}

func (r *jr) waves(dst *[]GapWave) bool {
	if !r.byte('[') {
		return false
	}
	out := []GapWave{}
	if r.byte(']') {
		*dst = out
		return true
	}
	for {
		var w GapWave
		if !r.object(func(k []byte) (uint64, bool) {
			switch string(k) {
			case "event":
				return ok(1<<0, r.str(&w.Event))
			case "count":
				return ok(1<<1, r.int(&w.Count))
			case "entities":
				return ok(1<<2, r.int(&w.Entities))
			case "first":
				return ok(1<<3, r.time(&w.First))
			case "last":
				return ok(1<<4, r.time(&w.Last))
			case "firstId":
				return ok(1<<5, r.str(&w.FirstID))
			}
			return 0, false
		}) {
			return false
		}
		out = append(out, w)
		if r.byte(']') {
			*dst = out
			return true
		}
		if !r.byte(',') {
			return false
		}
	}
}
