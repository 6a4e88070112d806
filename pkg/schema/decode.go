package schema

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Envelope is the CloudEvents context of a decoded message.
type Envelope struct {
	ID, Source, Type, Subject, DataSchema, DataContentType, SpecVersion string
	Time                                                                time.Time
	JTAPIEvent                                                          string
	Sequence                                                            uint64
	CTIManager, Session, TraceParent                                    string
	// Frame is the ctiframe extension (Event.Frame).
	Frame string
}

// ErrDecode is wrapped by every Decode error.
var ErrDecode = errors.New("schema: decode")

// attribute slots Decode fills.
const (
	aSpecVersion = iota
	aID
	aSource
	aType
	aSubject
	aTime
	aDataContentType
	aDataSchema
	aJTAPIEvent
	aSequence
	aCTIManager
	aSession
	aTraceParent
	aFrame
	nAttrs
)

var attrNames = [nAttrs]string{
	"specversion", "id", "source", "type", "subject", "time", "datacontenttype",
	"dataschema", ExtJTAPIEvent, ExtSequence, ExtCTIManager, ExtProviderSession, ExtTraceParent, ExtCTIFrame,
}

// attrIndex finds an attribute by its header name suffix, in any case.
func attrIndex(name string) int {
	for i, n := range attrNames {
		if len(n) == len(name) && (n == name || strings.EqualFold(n, name)) {
			return i
		}
	}
	return -1
}

// attrs is the raw (decoded, unparsed) attribute values of a message.
type attrs struct {
	v   [nAttrs]string
	set [nAttrs]bool
}

// Decode reads a message written by Encode (or by any CloudEvents NATS
// binding producer of the same event types). The mode follows the
// binding: structured when a Content-Type header (any name case) starts
// with application/cloudevents (any case), otherwise binary when a
// ce-specversion header (any case) exists. Binary header values are
// percent-decoded exactly once and must be valid UTF-8. Missing required
// attributes, attributes given twice, malformed values, an unknown type
// and data that is not the type's JSON are errors naming the attribute.
// Decode never panics and does work linear in the input size.
func Decode(header map[string][]string, data []byte) (Envelope, Event, error) {
	// One pass over the headers: the Content-Type, and the raw ce-
	// values, percent-decoded only if the message turns out binary.
	var a attrs
	var raw, rawKey [nAttrs]string
	var ct string
	hasCT := false
	for k, vs := range header {
		if len(vs) == 0 {
			continue
		}
		if len(k) > 3 && strings.EqualFold(k[:3], "ce-") {
			i := attrIndex(k[3:])
			if i < 0 {
				continue // an extension the bridge does not define
			}
			if a.set[i] || len(vs) > 1 {
				return Envelope{}, Event{}, fmt.Errorf("%w: attribute %s given more than once (header %s)", ErrDecode, attrNames[i], k)
			}
			raw[i], rawKey[i], a.set[i] = vs[0], k, true
			continue
		}
		if strings.EqualFold(k, HeaderContentType) {
			if hasCT || len(vs) > 1 {
				return Envelope{}, Event{}, fmt.Errorf("%w: header Content-Type given more than once", ErrDecode)
			}
			ct, hasCT = vs[0], true
		}
	}
	if hasCT && hasPrefixFold(ct, "application/cloudevents") {
		a = attrs{}
		var err error
		if data, err = readStructured(ct, data, &a); err != nil {
			return Envelope{}, Event{}, err
		}
		return build(&a, data)
	}
	if !a.set[aSpecVersion] {
		return Envelope{}, Event{}, fmt.Errorf("%w: attribute specversion missing: no ce-specversion header and no application/cloudevents Content-Type, so not a CloudEvent", ErrDecode)
	}
	for i := range raw {
		if !a.set[i] {
			continue
		}
		v, err := PercentDecode(raw[i])
		if err != nil {
			return Envelope{}, Event{}, fmt.Errorf("%w: attribute %s (header %s): %w", ErrDecode, attrNames[i], rawKey[i], err)
		}
		a.v[i] = v
	}
	if !a.set[aDataContentType] && hasCT {
		// A bare Content-Type names the data's type in binary mode for
		// some producers (sdk-go reads it so).
		a.v[aDataContentType], a.set[aDataContentType] = ct, true
	}
	return build(&a, data)
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// uriCache remembers the last URI references found valid: a stream's
// messages repeat the same few sources and dataschemas.
var uriCache [2]atomic.Pointer[string]

// checkURI reports whether s parses as a URI reference (absolute if abs).
func checkURI(slot int, s string, abs bool) bool {
	if p := uriCache[slot].Load(); p != nil && *p == s {
		return true
	}
	u, err := url.Parse(s)
	if err != nil || (abs && !u.IsAbs()) {
		return false
	}
	// A copy, so that only a miss moves a string to the heap (storing &s
	// made every call allocate).
	c := s
	uriCache[slot].Store(&c)
	return true
}

// readStructured parses a JSON-format event and returns its data bytes
// (a sub-slice of payload). Attributes must be JSON strings (the sequence
// may also be a number) and appear once; null means absent; members the
// bridge does not define are skipped.
func readStructured(ct string, payload []byte, a *attrs) ([]byte, error) {
	if ct != ContentTypeStructured {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil {
			return nil, fmt.Errorf("%w: Content-Type %q: %w", ErrDecode, ct, err)
		}
		if mt != "application/cloudevents+json" {
			return nil, fmt.Errorf("%w: Content-Type %q: only the JSON event format (application/cloudevents+json) is supported", ErrDecode, ct)
		}
	}
	if !utf8.Valid(payload) {
		return nil, fmt.Errorf("%w: structured event is not valid UTF-8", ErrDecode)
	}
	if !json.Valid(payload) {
		return nil, fmt.Errorf("%w: structured event is not JSON", ErrDecode)
	}
	r := jr{b: payload}
	if !r.byte('{') {
		return nil, fmt.Errorf("%w: structured event is not a JSON object", ErrDecode)
	}
	var data, b64 []byte
	var seenData, seenB64 bool
	for !r.byte('}') {
		k, ok := r.rawString()
		if !ok || !r.byte(':') {
			return nil, fmt.Errorf("%w: structured event: malformed member at offset %d", ErrDecode, r.i)
		}
		r.ws()
		start := r.i
		r.skipValue()
		val := payload[start:r.i]
		if len(val) == 0 {
			return nil, fmt.Errorf("%w: structured event: member %q has no value", ErrDecode, k)
		}
		null := string(val) == "null"
		switch name := string(k); name {
		case "data", "data_base64":
			seen := &seenData
			dst := &data
			if name == "data_base64" {
				seen, dst = &seenB64, &b64
			}
			if *seen {
				return nil, fmt.Errorf("%w: member %s given more than once", ErrDecode, name)
			}
			*seen = true
			if !null {
				*dst = val
			}
		default:
			i := attrIndexExact(name)
			if i < 0 {
				break // an extension or member the bridge does not define
			}
			if a.set[i] {
				return nil, fmt.Errorf("%w: attribute %s given more than once", ErrDecode, name)
			}
			if null {
				break
			}
			switch {
			case val[0] == '"':
				sr := jr{b: val}
				s, ok := sr.rawString()
				if !ok {
					return nil, fmt.Errorf("%w: attribute %s: malformed string", ErrDecode, name)
				}
				a.v[i] = string(s)
			case i == aSequence && val[0] >= '0' && val[0] <= '9':
				a.v[i] = string(val) // a JSON number is a lenient spelling of the sequence
			default:
				return nil, fmt.Errorf("%w: attribute %s is not a JSON string", ErrDecode, name)
			}
			a.set[i] = true
		}
		if !r.byte(',') {
			if !r.byte('}') {
				return nil, fmt.Errorf("%w: structured event: malformed object at offset %d", ErrDecode, r.i)
			}
			break
		}
	}
	if !a.set[aSpecVersion] {
		return nil, fmt.Errorf("%w: attribute specversion missing", ErrDecode)
	}
	if b64 != nil {
		if data != nil {
			return nil, fmt.Errorf("%w: both data and data_base64 are present", ErrDecode)
		}
		if b64[0] != '"' {
			return nil, fmt.Errorf("%w: data_base64 is not a JSON string", ErrDecode)
		}
		sr := jr{b: b64}
		s, ok := sr.rawString()
		if !ok {
			return nil, fmt.Errorf("%w: data_base64: malformed string", ErrDecode)
		}
		bin, err := base64.StdEncoding.DecodeString(string(s))
		if err != nil {
			return nil, fmt.Errorf("%w: data_base64: %w", ErrDecode, err)
		}
		return bin, nil
	}
	return data, nil
}

// attrIndexExact finds an attribute by its exact JSON member name.
func attrIndexExact(name string) int {
	for i, n := range attrNames {
		if n == name {
			return i
		}
	}
	return -1
}

// build checks the attributes and reconstructs the Event.
func build(a *attrs, data []byte) (Envelope, Event, error) {
	for i := range a.v {
		if a.set[i] {
			if err := checkString(attrNames[i], a.v[i]); err != nil {
				return Envelope{}, Event{}, fmt.Errorf("%w: %w", ErrDecode, err)
			}
		}
	}
	if a.v[aSpecVersion] != SpecVersion {
		return Envelope{}, Event{}, fmt.Errorf("%w: attribute specversion is %q: only %s is supported", ErrDecode, a.v[aSpecVersion], SpecVersion)
	}
	for _, i := range [...]int{aID, aSource, aType} {
		if a.v[i] == "" {
			return Envelope{}, Event{}, fmt.Errorf("%w: required attribute %s missing or empty", ErrDecode, attrNames[i])
		}
	}
	if !checkURI(0, a.v[aSource], false) {
		return Envelope{}, Event{}, fmt.Errorf("%w: attribute source %q is not a URI reference", ErrDecode, a.v[aSource])
	}
	env := Envelope{
		ID: a.v[aID], Source: a.v[aSource], Type: a.v[aType], Subject: a.v[aSubject],
		DataSchema: a.v[aDataSchema], DataContentType: a.v[aDataContentType], SpecVersion: a.v[aSpecVersion],
		JTAPIEvent: a.v[aJTAPIEvent], CTIManager: a.v[aCTIManager], Session: a.v[aSession],
		TraceParent: a.v[aTraceParent], Frame: a.v[aFrame],
	}
	if a.set[aSubject] && env.Subject == "" {
		return Envelope{}, Event{}, fmt.Errorf("%w: attribute subject is empty", ErrDecode)
	}
	if a.set[aDataSchema] {
		if !checkURI(1, env.DataSchema, true) {
			return Envelope{}, Event{}, fmt.Errorf("%w: attribute dataschema %q is not an absolute URI", ErrDecode, env.DataSchema)
		}
	}
	if a.set[aTime] {
		t, err := time.Parse(time.RFC3339Nano, a.v[aTime])
		if err != nil {
			return Envelope{}, Event{}, fmt.Errorf("%w: attribute time %q is not an RFC 3339 timestamp", ErrDecode, a.v[aTime])
		}
		env.Time = t.UTC()
	}
	if a.set[aSequence] {
		n, err := parseDigits(a.v[aSequence])
		if err != nil {
			return Envelope{}, Event{}, fmt.Errorf("%w: attribute sequence %q: %w", ErrDecode, a.v[aSequence], err)
		}
		env.Sequence = n
	}

	family, name, ok := ParseEventType(env.Type)
	if !ok {
		return env, Event{}, fmt.Errorf("%w: attribute type %q is not a ctibridge event type (%s<family>.<Event>%s)", ErrDecode, env.Type, TypePrefix, TypeVersion)
	}
	if env.JTAPIEvent != "" && env.JTAPIEvent != name {
		return env, Event{}, fmt.Errorf("%w: attribute jtapievent %q does not match type %q", ErrDecode, env.JTAPIEvent, env.Type)
	}
	if family.HasEntity() && env.Subject == "" {
		return env, Event{}, fmt.Errorf("%w: attribute subject missing: %s events name their entity there", ErrDecode, family)
	}
	if ct := env.DataContentType; ct != "" && ct != DataContentType {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return env, Event{}, fmt.Errorf("%w: attribute datacontenttype %q: the data of %s is application/json", ErrDecode, ct, env.Type)
		}
	}
	if len(data) == 0 {
		return env, Event{}, fmt.Errorf("%w: event %s has no data", ErrDecode, env.ID)
	}
	ev := Event{
		Family: family, Entity: env.Subject, Name: name, Session: env.Session,
		Sequence: env.Sequence, CTIManager: env.CTIManager, Time: env.Time, TraceParent: env.TraceParent,
		Frame: env.Frame,
	}
	if s, seq, ok := ParseEventID(env.ID); ok && s == env.Session {
		ev.SessionSeq = seq
	}
	if err := unmarshalData(data, &ev.Data); err != nil {
		return env, Event{}, fmt.Errorf("%w: data of %s is not %s JSON: %w", ErrDecode, env.ID, DataSchemaURI(family), err)
	}
	ev.Received = ev.Data.Times.Received
	return env, ev, nil
}

// parseDigits reads a non-empty decimal uint64 (leading zeros allowed).
func parseDigits(s string) (uint64, error) {
	if s == "" {
		return 0, errors.New("empty")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, errors.New("not a decimal number")
		}
	}
	t := strings.TrimLeft(s, "0")
	if t == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(t, 10, 64)
	if err != nil {
		return 0, errors.New("out of range")
	}
	return n, nil
}
