package schema

import (
	"testing"
	"time"
)

// The ctiframe extension carries an event's provenance (the CTI link frame
// it was derived from) through both content modes, the JSON-lines export
// and the sdk-go conversion; events without a frame carry no attribute.
func TestFrameExtension(t *testing.T) {
	published := sampleTime.Add(time.Millisecond)
	for _, mode := range []Mode{ModeBinary, ModeStructured} {
		enc := mustEncoder(t, EncoderConfig{Cluster: "lab", Mode: mode})
		ev := sampleCallEvent()
		ev.Frame = "ctim-a-1f2e3d-7:4242"
		m, err := enc.Encode(&ev, published)
		if err != nil {
			t.Fatal(err)
		}
		if mode == ModeBinary {
			if got := m.Header[HeaderCTIFrame]; len(got) != 1 || got[0] != ev.Frame {
				t.Fatalf("binary: %s = %v, want %q", HeaderCTIFrame, got, ev.Frame)
			}
		}
		env, got, err := Decode(m.Header, m.Data)
		if err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		if env.Frame != ev.Frame || got.Frame != ev.Frame {
			t.Fatalf("%s: decoded frame %q / %q, want %q", mode, env.Frame, got.Frame, ev.Frame)
		}
		data := m.Data
		if mode == ModeStructured {
			data = mustDataOf(t, m)
		}
		_, back, err := Decode(map[string][]string{HeaderContentType: {ContentTypeStructured}}, StructuredJSON(env, data))
		if err != nil || back.Frame != ev.Frame {
			t.Fatalf("%s: StructuredJSON lost the frame (%q, %v)", mode, back.Frame, err)
		}
		ce, err := ToCloudEvent(env, data)
		if err != nil {
			t.Fatal(err)
		}
		if v, ok := ce.Extensions()[ExtCTIFrame]; !ok || v != ev.Frame {
			t.Fatalf("%s: sdk-go event extension %s = %v", mode, ExtCTIFrame, v)
		}

		ev.Frame = ""
		m, err = enc.Encode(&ev, published)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := m.Header[HeaderCTIFrame]; ok {
			t.Fatalf("%s: ctiframe header on an event without a frame", mode)
		}
		if env, _, err := Decode(m.Header, m.Data); err != nil || env.Frame != "" {
			t.Fatalf("%s: frame %q, err %v", mode, env.Frame, err)
		}
	}
}

// mustDataOf returns the data member of a structured message.
func mustDataOf(t *testing.T, m Msg) []byte {
	t.Helper()
	env, ev, err := Decode(m.Header, m.Data)
	if err != nil {
		t.Fatal(err)
	}
	enc := mustEncoder(t, EncoderConfig{Cluster: "lab"})
	ev.Session, ev.SessionSeq = env.Session, 1
	bm, err := enc.Encode(&ev, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return bm.Data
}
