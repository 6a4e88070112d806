package schema

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func mustEncoder(t testing.TB, cfg EncoderConfig) *Encoder {
	t.Helper()
	e, err := NewEncoder(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	published := sampleTime.Add(7 * time.Millisecond)
	for _, mode := range []Mode{ModeBinary, ModeStructured} {
		enc := mustEncoder(t, EncoderConfig{Cluster: "lab", Mode: mode})
		for _, ev := range sampleEvents() {
			orig := ev
			m, err := enc.Encode(&ev, published)
			if err != nil {
				t.Fatalf("%s %s: %v", mode, ev.Name, err)
			}
			if ev.Data.Times.Published != orig.Data.Times.Published {
				t.Fatal("Encode changed the caller's event")
			}
			if m.ID != EventID(ev.Session, ev.SessionSeq) || m.Subject != Subject("lab", &ev) || m.EntityKey != EntityKey(m.Subject) {
				t.Fatalf("%s: msg %q %q %q", ev.Name, m.ID, m.Subject, m.EntityKey)
			}
			if got := m.Header[HeaderMsgID]; len(got) != 1 || got[0] != m.ID {
				t.Fatalf("%s: Nats-Msg-Id %v, want %q", ev.Name, got, m.ID)
			}
			env, got, err := Decode(m.Header, m.Data)
			if err != nil {
				t.Fatalf("%s %s: decode: %v", mode, ev.Name, err)
			}
			checkDecoded(t, &ev, &got, published)
			if env.ID != m.ID || env.Source != "cti://lab" || env.Type != EventType(ev.Family, ev.Name) ||
				env.Sequence != ev.Sequence || env.Session != ev.Session || env.JTAPIEvent != ev.Name ||
				env.DataSchema != DataSchemaURI(ev.Family) || env.DataContentType != "application/json" || env.SpecVersion != "1.0" {
				t.Fatalf("%s %s: envelope %+v", mode, ev.Name, env)
			}
		}
	}
}

func TestEncodeIsDeterministic(t *testing.T) {
	enc := mustEncoder(t, EncoderConfig{Cluster: "lab"})
	ev := sampleCallEvent()
	a, _ := enc.Encode(&ev, sampleTime)
	b, _ := enc.Encode(&ev, sampleTime)
	if string(a.Data) != string(b.Data) || a.ID != b.ID || len(a.Header) != len(b.Header) {
		t.Fatal("two encodings of the same event differ")
	}
	for k, v := range a.Header {
		if b.Header[k][0] != v[0] {
			t.Fatalf("header %s differs", k)
		}
	}
}

func TestBinaryModeHeaders(t *testing.T) {
	enc := mustEncoder(t, EncoderConfig{Cluster: "lab"})
	ev := sampleEvents()[2] // terminal "SEP.Lobby *Zoë>"
	ev.CTIManager = "cucm \"pub\" 100%"
	m, err := enc.Encode(&ev, sampleTime)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range m.Header {
		if k == HeaderMsgID {
			continue
		}
		if !strings.HasPrefix(k, "ce-") || k != strings.ToLower(k) {
			t.Errorf("header %q: binary mode writes only lower-case ce- headers", k)
		}
		if len(v) != 1 {
			t.Errorf("header %q has %d values", k, len(v))
		}
		for i := 0; i < len(v[0]); i++ {
			c := v[0][i]
			if c <= ' ' || c >= 0x7F || c == '"' || (c == '%' && !isPctEscape(v[0][i:])) {
				t.Errorf("header %q value %q: byte %q must be percent-encoded", k, v[0], c)
			}
		}
	}
	want := map[string]string{
		HeaderSpecVersion: "1.0",
		HeaderSubject:     "SEP.Lobby%20*Zo%C3%AB>",
		HeaderCTIManager:  "cucm%20%22pub%22%20100%25",
		HeaderTime:        "2026-03-14T09:26:53.589793Z",
		HeaderSequence:    "00000000000000000002",
		HeaderID:          "lab-7f3a9c-000000000003",
		HeaderType:        "io.ctibridge.terminal.CiscoTermOutOfServiceEv.v1",
		HeaderDataSchema:  "https://ctibridge.io/schemas/terminal.v1.json",
		HeaderJTAPIEvent:  "CiscoTermOutOfServiceEv",
	}
	for k, v := range want {
		if got := m.Header[k]; len(got) != 1 || got[0] != v {
			t.Errorf("%s = %v, want %q", k, got, v)
		}
	}
	if _, ok := m.Header[HeaderContentType]; ok {
		t.Error("binary mode must not carry a Content-Type header")
	}
	if _, ok := m.Header[HeaderTraceParent]; ok {
		t.Error("traceparent written although empty")
	}
}

func isPctEscape(s string) bool {
	_, ok1 := upperHex(s[1%len(s)])
	_, ok2 := upperHex(s[2%len(s)])
	return len(s) >= 3 && ok1 && ok2
}

func TestStructuredModeHeaders(t *testing.T) {
	enc := mustEncoder(t, EncoderConfig{Cluster: "lab", Mode: ModeStructured})
	ev := sampleCallEvent()
	m, err := enc.Encode(&ev, sampleTime)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Header[HeaderContentType]; len(got) != 1 || got[0] != ContentTypeStructured {
		t.Errorf("Content-Type %v", got)
	}
	for k := range m.Header {
		if strings.HasPrefix(strings.ToLower(k), "ce-") {
			t.Errorf("structured mode carries header %q", k)
		}
	}
}

func TestPercentEncoding(t *testing.T) {
	cases := []struct{ in, want string }{
		{"plain-ASCII_1.0:/?#[]@!$&'()*+,;=", "plain-ASCII_1.0:/?#[]@!$&'()*+,;="},
		{"a b", "a%20b"},
		{`"q"`, "%22q%22"},
		{"100%", "100%25"},
		{"é", "%C3%A9"},
		{"\x00\x1f\x7f", "%00%1F%7F"},
		{"~", "~"},
	}
	for _, c := range cases {
		if got := PercentEncode(c.in); got != c.want {
			t.Errorf("PercentEncode(%q) = %q, want %q", c.in, got, c.want)
		}
		if got, err := PercentDecode(c.want); err != nil || got != c.in {
			t.Errorf("PercentDecode(%q) = %q, %v", c.want, got, err)
		}
	}
	ok := []struct{ in, want string }{
		{"%c3%a9", "é"},   // lower-case hex accepted
		{"%41%42", "AB"},  // needless encodings accepted
		{"%2541", "%41"},  // decoded exactly once
		{`"a\"b"`, `a"b`}, // RFC 7230 quoted-string undone first
		{`"%20"`, " "},    // then percent-decoded
		{"é", "é"},        // raw UTF-8 tolerated
		{"", ""},
	}
	for _, c := range ok {
		if got, err := PercentDecode(c.in); err != nil || got != c.want {
			t.Errorf("PercentDecode(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{
		"%", "%4", "%G1", "a%zz",
		"%C0%A0",    // overlong space
		"%E0%80%AF", // overlong '/'
		"%ED%A0%80", // UTF-16 surrogate
		"%C3",       // truncated sequence
		"%FF",       // never valid
		"\xff",      // raw invalid byte
		`"a\"`,      // quoted-string ending in a lone backslash
		`"a"b"`,     // bare quote inside
	} {
		if got, err := PercentDecode(bad); err == nil {
			t.Errorf("PercentDecode(%q) = %q, want an error", bad, got)
		}
	}
}

// binaryHeaders returns a valid binary message to corrupt.
func binaryHeaders(t testing.TB) (map[string][]string, []byte) {
	enc := mustEncoder(t, EncoderConfig{Cluster: "lab"})
	ev := sampleCallEvent()
	m, err := enc.Encode(&ev, sampleTime)
	if err != nil {
		t.Fatal(err)
	}
	return m.Header, m.Data
}

func TestDecodeHeaderNamesAnyCase(t *testing.T) {
	h, data := binaryHeaders(t)
	mixed := map[string][]string{}
	for k, v := range h {
		mixed[strings.ToUpper(k[:1])+k[1:3]+strings.ToUpper(k[3:])] = v // e.g. Ce-ID
	}
	env, ev, err := Decode(mixed, data)
	if err != nil {
		t.Fatal(err)
	}
	if env.ID != "lab-7f3a9c-000000000042" || ev.Entity != "16777217" || ev.SessionSeq != 42 || env.TraceParent == "" {
		t.Fatalf("decoded %+v", env)
	}
	// Structured detection is case-insensitive in name and value.
	enc := mustEncoder(t, EncoderConfig{Cluster: "lab", Mode: ModeStructured})
	sev := sampleCallEvent()
	m, _ := enc.Encode(&sev, sampleTime)
	if _, _, err := Decode(map[string][]string{"CONTENT-TYPE": {"Application/CloudEvents+JSON"}}, m.Data); err != nil {
		t.Fatal(err)
	}
}

func TestDecodeRejects(t *testing.T) {
	mutate := func(f func(h map[string][]string)) map[string][]string {
		h, _ := binaryHeaders(t)
		f(h)
		return h
	}
	_, data := binaryHeaders(t)
	cases := []struct {
		name    string
		header  map[string][]string
		data    []byte
		mention string
	}{
		{"no headers", nil, data, "specversion"},
		{"missing id", mutate(func(h map[string][]string) { delete(h, HeaderID) }), data, "id"},
		{"missing source", mutate(func(h map[string][]string) { delete(h, HeaderSource) }), data, "source"},
		{"missing type", mutate(func(h map[string][]string) { delete(h, HeaderType) }), data, "type"},
		{"empty id", mutate(func(h map[string][]string) { h[HeaderID] = []string{""} }), data, "id"},
		{"spec 0.3", mutate(func(h map[string][]string) { h[HeaderSpecVersion] = []string{"0.3"} }), data, "specversion"},
		{"overlong", mutate(func(h map[string][]string) { h[HeaderSubject] = []string{"%C0%A0"} }), data, "subject"},
		{"bad escape", mutate(func(h map[string][]string) { h[HeaderCTIManager] = []string{"a%2"} }), data, "ctimanager"},
		{"control", mutate(func(h map[string][]string) { h[HeaderSubject] = []string{"a%0Ab"} }), data, "subject"},
		{"C1 control", mutate(func(h map[string][]string) { h[HeaderSubject] = []string{"a%C2%85b"} }), data, "subject"},
		{"twice", mutate(func(h map[string][]string) { h["CE-ID"] = h[HeaderID] }), data, "id"},
		{"two values", mutate(func(h map[string][]string) { h[HeaderSource] = []string{"a", "b"} }), data, "source"},
		{"bad time", mutate(func(h map[string][]string) { h[HeaderTime] = []string{"yesterday"} }), data, "time"},
		{"bad sequence", mutate(func(h map[string][]string) { h[HeaderSequence] = []string{"-1"} }), data, "sequence"},
		{"huge sequence", mutate(func(h map[string][]string) { h[HeaderSequence] = []string{"99999999999999999999"} }), data, "sequence"},
		{"foreign type", mutate(func(h map[string][]string) { h[HeaderType] = []string{"com.example.x"} }), data, "type"},
		{"unknown family", mutate(func(h map[string][]string) { h[HeaderType] = []string{"io.ctibridge.phone.X.v1"} }), data, "type"},
		{"jtapievent mismatch", mutate(func(h map[string][]string) { h[HeaderJTAPIEvent] = []string{"CallActiveEv"} }), data, "jtapievent"},
		{"no subject", mutate(func(h map[string][]string) { delete(h, HeaderSubject) }), data, "subject"},
		{"xml data", mutate(func(h map[string][]string) { h[HeaderDataContentType] = []string{"text/xml"} }), data, "datacontenttype"},
		{"relative dataschema", mutate(func(h map[string][]string) { h[HeaderDataSchema] = []string{"call.json"} }), data, "dataschema"},
		{"no data", mutate(func(map[string][]string) {}), nil, "data"},
		{"bad data", mutate(func(map[string][]string) {}), []byte(`{"event":5}`), "data"},
		{"structured not json", map[string][]string{"Content-Type": {"application/cloudevents+json"}}, []byte("{"), "JSON"},
		{"structured batch", map[string][]string{"Content-Type": {"application/cloudevents-batch+json"}}, []byte("[]"), "JSON event format"},
		{"structured no specversion", map[string][]string{"Content-Type": {"application/cloudevents+json"}}, []byte(`{"id":"x"}`), "specversion"},
		{"structured number id", map[string][]string{"Content-Type": {"application/cloudevents+json"}},
			[]byte(`{"specversion":"1.0","id":5,"source":"x","type":"y"}`), "id"},
		{"structured invalid utf8", map[string][]string{"Content-Type": {"application/cloudevents+json"}},
			[]byte("{\"specversion\":\"1.0\",\"id\":\"\xff\"}"), "UTF-8"},
		{"structured duplicate id", map[string][]string{"Content-Type": {"application/cloudevents+json"}},
			[]byte(`{"specversion":"1.0","id":"a","id":"b","source":"x","type":"y"}`), "id"},
		{"structured trailing garbage", map[string][]string{"Content-Type": {"application/cloudevents+json"}},
			[]byte(`{"specversion":"1.0"} {}`), "JSON"},
		{"structured array", map[string][]string{"Content-Type": {"application/cloudevents+json"}}, []byte(`[1]`), "object"},
		{"structured null", map[string][]string{"Content-Type": {"application/cloudevents+json"}}, []byte(`null`), "object"},
		{"structured data and base64", map[string][]string{"Content-Type": {"application/cloudevents+json"}},
			[]byte(`{"specversion":"1.0","id":"a","source":"b","type":"c","data":{},"data_base64":"e30="}`), "data_base64"},
	}
	for _, c := range cases {
		_, _, err := Decode(c.header, c.data)
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		if !errors.Is(err, ErrDecode) {
			t.Errorf("%s: %v does not wrap ErrDecode", c.name, err)
		}
		if !strings.Contains(err.Error(), c.mention) {
			t.Errorf("%s: error %q does not name %q", c.name, err, c.mention)
		}
	}
}

func TestEncodeRejects(t *testing.T) {
	enc := mustEncoder(t, EncoderConfig{Cluster: "lab"})
	base := sampleCallEvent()
	cases := []struct {
		name    string
		f       func(ev *Event)
		mention string
	}{
		{"unknown name", func(ev *Event) { ev.Name = "NoSuchEv" }, "NoSuchEv"},
		{"wrong family", func(ev *Event) { ev.Family = FamilyAddress; ev.Data.Address = &AddressData{} }, "family"},
		{"no session", func(ev *Event) { ev.Session = "" }, "Session"},
		{"no session seq", func(ev *Event) { ev.SessionSeq = 0 }, "SessionSeq"},
		{"no entity", func(ev *Event) { ev.Entity = "" }, "Entity"},
		{"no section", func(ev *Event) { ev.Data.Call = nil }, "data.call"},
		{"extra section", func(ev *Event) { ev.Data.Bridge = &BridgeData{} }, "data.bridge"},
		{"control in entity", func(ev *Event) { ev.Entity = "a\nb" }, "subject"},
		{"invalid utf8 session", func(ev *Event) { ev.Session = "s\xff" }, "providersession"},
		{"year 10000", func(ev *Event) { ev.Time = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, "time"},
		{"data time", func(ev *Event) { ev.Data.Times.Received = time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC) }, "data"},
		{"nil", nil, "nil"},
	}
	for _, c := range cases {
		var err error
		if c.f == nil {
			_, err = enc.Encode(nil, sampleTime)
		} else {
			ev := base
			call := *base.Data.Call // c.f changes the copy, not base
			ev.Data.Call = &call
			c.f(&ev)
			_, err = enc.Encode(&ev, sampleTime)
		}
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		if !errors.Is(err, ErrInvalidEvent) || !strings.Contains(err.Error(), c.mention) {
			t.Errorf("%s: error %q (want ErrInvalidEvent naming %q)", c.name, err, c.mention)
		}
	}
	pev := sampleEvents()[0]
	pev.Entity = "x"
	if _, err := enc.Encode(&pev, sampleTime); err == nil {
		t.Error("provider event with an entity accepted")
	}
}

func TestEncoderConfigValidate(t *testing.T) {
	err := EncoderConfig{Source: "::bad", Mode: 7}.Validate()
	for _, want := range []string{"Cluster", "Source", "Mode"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate error %v does not name %s", err, want)
		}
	}
	e := mustEncoder(t, EncoderConfig{Cluster: "Lab Cluster/1"})
	if e.Source() != "cti://Lab%20Cluster%2F1" {
		t.Errorf("default source %q", e.Source())
	}
	e = mustEncoder(t, EncoderConfig{Cluster: "lab", Source: "urn:cucm:lab"})
	ev := sampleCallEvent()
	m, _ := e.Encode(&ev, sampleTime)
	if env, _, err := Decode(m.Header, m.Data); err != nil || env.Source != "urn:cucm:lab" {
		t.Errorf("configured source: %q %v", env.Source, err)
	}
	for _, s := range []string{"binary", "structured", ""} {
		if _, err := ParseMode(s); err != nil {
			t.Error(err)
		}
	}
	if _, err := ParseMode("batch"); err == nil {
		t.Error("ParseMode(batch) accepted")
	}
}

func TestEventIDs(t *testing.T) {
	if id := EventID("lab-7f3a9c", 42); id != "lab-7f3a9c-000000000042" {
		t.Errorf("EventID = %q", id)
	}
	seen := map[string]bool{}
	for _, s := range []string{"a", "a-1", "a-000000000001", "", "b"} {
		for _, n := range []uint64{1, 2, 1e12, 1<<64 - 1} {
			id := EventID(s, n)
			if seen[id] {
				t.Fatalf("duplicate id %q", id)
			}
			seen[id] = true
			gs, gn, ok := ParseEventID(id)
			if !ok || gs != s || gn != n {
				t.Fatalf("ParseEventID(%q) = %q %d %v", id, gs, gn, ok)
			}
		}
	}
	if FormatSequence(7) != "00000000000000000007" || FormatSequence(1<<64-1) != "18446744073709551615" {
		t.Error("FormatSequence")
	}
	if FormatSequence(9) >= FormatSequence(10) {
		t.Error("sequence strings do not sort numerically")
	}
	for _, typ := range []string{"io.ctibridge.call.X", "io.ctibridge.call..v1", "io.ctibridge.call.a.b.v1", "x.call.A.v1"} {
		if _, _, ok := ParseEventType(typ); ok {
			t.Errorf("ParseEventType(%q) accepted", typ)
		}
	}
}

func TestSessionNeedingEncoding(t *testing.T) {
	for _, mode := range []Mode{ModeBinary, ModeStructured} {
		enc := mustEncoder(t, EncoderConfig{Cluster: "lab", Mode: mode})
		ev := sampleCallEvent()
		ev.Session = "s 1/\"ü\"<>"
		m, err := enc.Encode(&ev, sampleTime)
		if err != nil {
			t.Fatal(err)
		}
		if m.ID != "s 1/\"ü\"<>-000000000042" || m.Header[HeaderMsgID][0] != m.ID {
			t.Fatalf("id %q", m.ID)
		}
		if mode == ModeBinary {
			if got := m.Header[HeaderID][0]; got != "s%201/%22%C3%BC%22<>-000000000042" {
				t.Errorf("ce-id %q", got)
			}
		}
		_, got, err := Decode(m.Header, m.Data)
		if err != nil {
			t.Fatal(err)
		}
		if got.Session != ev.Session || got.SessionSeq != 42 {
			t.Errorf("%s: decoded session %q seq %d", mode, got.Session, got.SessionSeq)
		}
	}
}
