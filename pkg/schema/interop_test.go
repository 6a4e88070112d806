package schema

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/binding/format"
	"github.com/cloudevents/sdk-go/v2/binding/spec"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
)

// natsMessage is a binding.Message over a NATS header map and payload,
// written the way an independent consumer would: mode detection per the
// NATS binding, attribute names through sdk-go's spec helpers, values
// percent-decoded with net/url (not with this package's decoder).
type natsMessage struct {
	header map[string][]string
	data   []byte
}

var ceSpecs = spec.WithPrefix("ce-")

func (m *natsMessage) contentType() string {
	for k, v := range m.header {
		if strings.EqualFold(k, "content-type") && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

func (m *natsMessage) ReadEncoding() binding.Encoding {
	if strings.HasPrefix(strings.ToLower(m.contentType()), "application/cloudevents") {
		return binding.EncodingStructured
	}
	for k := range m.header {
		if strings.EqualFold(k, ceSpecs.PrefixedSpecVersionName()) {
			return binding.EncodingBinary
		}
	}
	return binding.EncodingUnknown
}

func (m *natsMessage) ReadStructured(ctx context.Context, w binding.StructuredWriter) error {
	if m.ReadEncoding() != binding.EncodingStructured {
		return binding.ErrNotStructured
	}
	return w.SetStructuredEvent(ctx, format.JSON, bytes.NewReader(m.data))
}

func (m *natsMessage) value(k string) (string, error) {
	return url.PathUnescape(m.header[k][0])
}

func (m *natsMessage) version() spec.Version {
	for k := range m.header {
		if strings.EqualFold(k, ceSpecs.PrefixedSpecVersionName()) {
			v, _ := m.value(k)
			return ceSpecs.Version(v)
		}
	}
	return nil
}

func (m *natsMessage) ReadBinary(ctx context.Context, w binding.BinaryWriter) error {
	if m.ReadEncoding() != binding.EncodingBinary {
		return binding.ErrNotBinary
	}
	ver := m.version()
	for k := range m.header {
		if len(k) <= 3 || !strings.EqualFold(k[:3], "ce-") {
			continue
		}
		v, err := m.value(k)
		if err != nil {
			return err
		}
		if attr := ver.Attribute(k); attr != nil {
			if attr.Kind() == spec.SpecVersion {
				continue
			}
			if err := w.SetAttribute(attr, v); err != nil {
				return err
			}
		} else if err := w.SetExtension(strings.ToLower(k[3:]), v); err != nil {
			return err
		}
	}
	return w.SetData(bytes.NewReader(m.data))
}

func (m *natsMessage) GetAttribute(k spec.Kind) (spec.Attribute, interface{}) {
	attr := m.version().AttributeFromKind(k)
	if attr == nil {
		return nil, nil
	}
	for hk := range m.header {
		if strings.EqualFold(hk, attr.PrefixedName()) {
			v, _ := m.value(hk)
			return attr, v
		}
	}
	return attr, nil
}

func (m *natsMessage) GetExtension(name string) interface{} {
	for hk := range m.header {
		if strings.EqualFold(hk, "ce-"+name) {
			v, _ := m.value(hk)
			return v
		}
	}
	return nil
}

func (m *natsMessage) Finish(error) error { return nil }

// checkSDKEvent compares what sdk-go read with what we encoded.
func checkSDKEvent(t *testing.T, e *event.Event, ev *Event, m Msg, published time.Time) {
	t.Helper()
	if err := e.Validate(); err != nil {
		t.Fatalf("sdk-go says the event is invalid: %v", err)
	}
	want := map[string]string{
		"specversion": "1.0", "id": EventID(ev.Session, ev.SessionSeq), "source": "cti://lab",
		"type": EventType(ev.Family, ev.Name), "subject": ev.Entity, "time": types.FormatTime(ev.Time),
		"datacontenttype": "application/json", "dataschema": DataSchemaURI(ev.Family),
	}
	got := map[string]string{
		"specversion": e.SpecVersion(), "id": e.ID(), "source": e.Source(), "type": e.Type(),
		"subject": e.Subject(), "time": types.FormatTime(e.Time()), "datacontenttype": e.DataContentType(),
		"dataschema": e.DataSchema(),
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: sdk-go read %q, want %q", k, got[k], v)
		}
	}
	wantExt := map[string]string{
		ExtJTAPIEvent: ev.Name, ExtSequence: FormatSequence(ev.Sequence), ExtCTIManager: ev.CTIManager,
		ExtProviderSession: ev.Session, ExtTraceParent: ev.TraceParent,
	}
	for k, v := range wantExt {
		x, ok := e.Extensions()[k]
		if v == "" {
			if ok {
				t.Errorf("extension %s present (%v), want absent", k, x)
			}
			continue
		}
		s, err := types.ToString(x)
		if err != nil || s != v {
			t.Errorf("extension %s: sdk-go read %v, want %q", k, x, v)
		}
	}
	var d Data
	if err := e.DataAs(&d); err != nil {
		t.Fatalf("sdk-go DataAs: %v", err)
	}
	wantData := ev.Data
	wantData.Times.Published = published.UTC()
	a, _ := json.Marshal(d)
	b, _ := json.Marshal(wantData)
	if !bytes.Equal(a, b) {
		t.Errorf("data read by sdk-go differs:\n got %s\nwant %s", a, b)
	}
}

func TestInteropSDKReadsOurMessages(t *testing.T) {
	published := sampleTime.Add(5 * time.Millisecond)
	for _, mode := range []Mode{ModeBinary, ModeStructured} {
		enc, err := NewEncoder(EncoderConfig{Cluster: "lab", Mode: mode})
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range sampleEvents() {
			t.Run(mode.String()+"/"+ev.Name, func(t *testing.T) {
				m, err := enc.Encode(&ev, published)
				if err != nil {
					t.Fatal(err)
				}
				msg := &natsMessage{header: m.Header, data: m.Data}
				wantEnc := binding.EncodingBinary
				if mode == ModeStructured {
					wantEnc = binding.EncodingStructured
				}
				if got := msg.ReadEncoding(); got != wantEnc {
					t.Fatalf("encoding %v, want %v", got, wantEnc)
				}
				e, err := binding.ToEvent(context.Background(), msg)
				if err != nil {
					t.Fatalf("binding.ToEvent: %v", err)
				}
				checkSDKEvent(t, e, &ev, m, published)
				if mode == ModeStructured {
					// The payload alone is a JSON-format event for sdk-go.
					var e2 event.Event
					if err := json.Unmarshal(m.Data, &e2); err != nil {
						t.Fatalf("event.Event.UnmarshalJSON: %v", err)
					}
					checkSDKEvent(t, &e2, &ev, m, published)
				}
			})
		}
	}
}

// sdkBinaryWriter writes an sdk-go event the way sdk-go's NATS JetStream
// binding does (ce-<name> headers, canonical strings, no
// percent-encoding), to check we read such producers too.
type sdkBinaryWriter struct {
	header map[string][]string
	data   []byte
}

func (w *sdkBinaryWriter) Start(context.Context) error { return nil }
func (w *sdkBinaryWriter) End(context.Context) error   { return nil }
func (w *sdkBinaryWriter) SetData(r io.Reader) (err error) {
	w.data, err = io.ReadAll(r)
	return err
}
func (w *sdkBinaryWriter) SetAttribute(a spec.Attribute, v interface{}) error {
	s, err := types.Format(v)
	if err != nil {
		return err
	}
	w.header["ce-"+a.Name()] = []string{s}
	return nil
}
func (w *sdkBinaryWriter) SetExtension(name string, v interface{}) error {
	s, err := types.Format(v)
	if err != nil {
		return err
	}
	w.header["ce-"+name] = []string{s}
	return nil
}

func TestInteropWeReadSDKMessages(t *testing.T) {
	published := sampleTime.Add(5 * time.Millisecond)
	for _, ev := range sampleEvents() {
		e, err := sdkEvent(&ev, published)
		if err != nil {
			t.Fatal(err)
		}
		if !ev.Family.HasEntity() {
			e.SetSubject("")
		}
		if ev.CTIManager == "" {
			e.SetExtension(ExtCTIManager, nil)
		}
		if ev.TraceParent == "" {
			e.SetExtension(ExtTraceParent, nil)
		}
		// Structured, as sdk-go marshals it.
		js, err := json.Marshal(&e)
		if err != nil {
			t.Fatal(err)
		}
		_, got, err := Decode(map[string][]string{"content-type": {event.ApplicationCloudEventsJSON}}, js)
		if err != nil {
			t.Fatalf("%s structured: %v", ev.Name, err)
		}
		checkDecoded(t, &ev, &got, published)
		// Binary, through sdk-go's binding.Write with our test writer.
		if strings.ContainsAny(ev.Entity, " %\"") || strings.ContainsFunc(ev.Entity, func(r rune) bool { return r > 0x7E }) {
			continue // sdk-go does not percent-encode: such values are not spec-conformant there
		}
		w := &sdkBinaryWriter{header: map[string][]string{}}
		if _, err := binding.Write(binding.WithForceBinary(context.Background()), binding.ToMessage(&e), nil, w); err != nil {
			t.Fatal(err)
		}
		_, got, err = Decode(w.header, w.data)
		if err != nil {
			t.Fatalf("%s binary: %v (headers %v)", ev.Name, err, w.header)
		}
		checkDecoded(t, &ev, &got, published)
	}
}

// checkDecoded compares a decoded event with the original.
func checkDecoded(t *testing.T, want, got *Event, published time.Time) {
	t.Helper()
	w := *want
	w.Data.Times.Published = published.UTC()
	w.Time = w.Time.UTC()
	w.Received = w.Data.Times.Received
	if w.Data.Event == "" {
		w.Data.Event = w.Name
	}
	a, _ := json.Marshal(w.Data)
	b, _ := json.Marshal(got.Data)
	if !bytes.Equal(a, b) {
		t.Errorf("%s: data differs:\n got %s\nwant %s", want.Name, b, a)
	}
	w.Data, got.Data = Data{}, Data{}
	if !w.Time.Equal(got.Time) || !w.Received.Equal(got.Received) {
		t.Errorf("%s: times differ: got %v/%v want %v/%v", want.Name, got.Time, got.Received, w.Time, w.Received)
	}
	w.Time, got.Time, w.Received, got.Received = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if w != *got {
		t.Errorf("%s: decoded event differs:\n got %+v\nwant %+v", want.Name, *got, w)
	}
}

func TestStructuredJSONAndToCloudEvent(t *testing.T) {
	published := sampleTime.Add(time.Millisecond)
	bin := mustEncoder(t, EncoderConfig{Cluster: "lab"})
	str := mustEncoder(t, EncoderConfig{Cluster: "lab", Mode: ModeStructured})
	for _, ev := range sampleEvents() {
		mb, err := bin.Encode(&ev, published)
		if err != nil {
			t.Fatal(err)
		}
		ms, err := str.Encode(&ev, published)
		if err != nil {
			t.Fatal(err)
		}
		env, _, err := Decode(mb.Header, mb.Data)
		if err != nil {
			t.Fatal(err)
		}
		if got := StructuredJSON(env, mb.Data); !bytes.Equal(got, ms.Data) {
			t.Errorf("%s: StructuredJSON of the binary message differs from the structured encoding:\n got %s\nwant %s", ev.Name, got, ms.Data)
		}
		ce, err := ToCloudEvent(env, mb.Data)
		if err != nil {
			t.Fatal(err)
		}
		checkSDKEvent(t, ce, &ev, mb, published)
	}
}

// The hot path formats attribute times itself; it must equal sdk-go's
// canonical form (types.Format of a Timestamp).
func TestCanonicalTimeMatchesSDK(t *testing.T) {
	for _, tm := range []time.Time{sampleTime, sampleTime.In(time.FixedZone("x", 5*3600+1800)), time.Unix(0, 0), time.Unix(1, 1).In(time.Local)} {
		want, err := types.Format(types.Timestamp{Time: tm})
		if err != nil {
			t.Fatal(err)
		}
		if got := string(appendAttrTime(nil, tm)); got != want {
			t.Errorf("time %v: %q, sdk-go %q", tm, got, want)
		}
	}
}
