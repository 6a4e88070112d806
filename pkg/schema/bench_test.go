package schema

import (
	"encoding/json"
	"syscall"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
)

func benchEncoder(b *testing.B, mode Mode) *Encoder {
	e, err := NewEncoder(EncoderConfig{Cluster: "lab", Mode: mode})
	if err != nil {
		b.Fatal(err)
	}
	return e
}

var benchPublished = sampleTime.Add(3 * time.Millisecond)

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds a cpu-ns/op metric: process CPU time (GC included) per
// operation. On a shared machine wall-clock ns/op also counts the time the
// benchmark waited for a core; CPU time does not.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() {
		b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
	}
}

func BenchmarkEncodeBinary(b *testing.B) {
	e := benchEncoder(b, ModeBinary)
	ev := sampleCallEvent()
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		if _, err := e.Encode(&ev, benchPublished); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeStructured(b *testing.B) {
	e := benchEncoder(b, ModeStructured)
	ev := sampleCallEvent()
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		if _, err := e.Encode(&ev, benchPublished); err != nil {
			b.Fatal(err)
		}
	}
}

// sdkEvent builds the same CloudEvent with sdk-go, the way an sdk-go
// producer would.
func sdkEvent(ev *Event, published time.Time) (event.Event, error) {
	e := event.New()
	e.SetID(EventID(ev.Session, ev.SessionSeq))
	e.SetSource(DefaultSource("lab"))
	e.SetType(EventType(ev.Family, ev.Name))
	e.SetSubject(ev.Entity)
	e.SetTime(ev.Time)
	e.SetDataSchema(DataSchemaURI(ev.Family))
	e.SetExtension(ExtJTAPIEvent, ev.Name)
	e.SetExtension(ExtSequence, FormatSequence(ev.Sequence))
	e.SetExtension(ExtCTIManager, ev.CTIManager)
	e.SetExtension(ExtProviderSession, ev.Session)
	e.SetExtension(ExtTraceParent, ev.TraceParent)
	d := ev.Data
	d.Times.Published = published.UTC()
	err := e.SetData(event.ApplicationJSON, d)
	return e, err
}

func BenchmarkSDKEventMarshal(b *testing.B) {
	ev := sampleCallEvent()
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		e, err := sdkEvent(&ev, benchPublished)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := json.Marshal(&e); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeBinary(b *testing.B) {
	e := benchEncoder(b, ModeBinary)
	ev := sampleCallEvent()
	m, err := e.Encode(&ev, benchPublished)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		if _, _, err := Decode(m.Header, m.Data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeStructured(b *testing.B) {
	e := benchEncoder(b, ModeStructured)
	ev := sampleCallEvent()
	m, err := e.Encode(&ev, benchPublished)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		if _, _, err := Decode(m.Header, m.Data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendData and BenchmarkEncodingJSONData compare the data
// appender with encoding/json on the same value.
func BenchmarkAppendData(b *testing.B) {
	ev := sampleCallEvent()
	buf := make([]byte, 0, 2048)
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		var err error
		if buf, err = appendData(buf[:0], &ev.Data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodingJSONData(b *testing.B) {
	ev := sampleCallEvent()
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		if _, err := json.Marshal(&ev.Data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeBinaryReleased is the publisher's path: every message is
// released once acknowledged, so Encode reuses the header map, the header
// value slices and the data buffer of earlier messages.
func BenchmarkEncodeBinaryReleased(b *testing.B) {
	e := benchEncoder(b, ModeBinary)
	ev := sampleCallEvent()
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		m, err := e.Encode(&ev, benchPublished)
		if err != nil {
			b.Fatal(err)
		}
		m.Release()
	}
}
