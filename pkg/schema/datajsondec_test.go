package schema

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
)

// fastDecode runs only the fast reader.
func fastDecode(data []byte) (Data, bool) {
	var d Data
	r := jr{b: data}
	return d, r.data(&d) && r.end()
}

// checkFastDecode: whenever the fast reader accepts data, encoding/json
// accepts it too and produces the same value.
func checkFastDecode(t *testing.T, data []byte) bool {
	t.Helper()
	got, ok := fastDecode(data)
	if !ok {
		return false
	}
	var want Data
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatalf("fast reader accepted what encoding/json rejects (%v):\n%s", err, data)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("fast reader differs from encoding/json on\n%s\n got %#v\nwant %#v", data, got, want)
	}
	return true
}

func TestFastDecodeMatchesEncodingJSON(t *testing.T) {
	for _, ev := range sampleEvents() {
		b, _ := json.Marshal(ev.Data)
		if !checkFastDecode(t, b) {
			t.Errorf("%s: the fast reader gave up on the encoder's own output:\n%s", ev.Name, b)
		}
	}
	fast := 0
	const n = 5000
	for i := range n {
		f := filler{r: rand.New(rand.NewPCG(uint64(i), 11)), strs: fillerStrings[:5], sparse: i%2 == 0}
		var d Data
		f.fill(reflect.ValueOf(&d).Elem())
		b, err := json.Marshal(&d)
		if err != nil {
			continue
		}
		if checkFastDecode(t, b) {
			fast++
		}
		// Through the public path the result is always encoding/json's.
		var got, want Data
		if err := unmarshalData(b, &got); err != nil {
			t.Fatal(err)
		}
		json.Unmarshal(b, &want)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("unmarshalData differs on %s", b)
		}
	}
	if fast < n*9/10 {
		t.Errorf("the fast reader handled only %d of %d plain encodings", fast, n)
	}
	// Inputs outside the fast subset fall back and keep encoding/json's
	// meaning (or error).
	for _, s := range []string{
		`{"event":"A","event":"B","times":{"upstream":"2026-01-01T00:00:00Z","received":"2026-01-01T00:00:00Z"}}`,
		`{"EVENT":"A","times":{"upstream":"2026-01-01T00:00:00Z","received":"2026-01-01T00:00:00Z"}}`,
		`{"event":"a\u00e9","unknown":[1,{"x":null}],"times":{"upstream":"2026-01-01T00:00:00Z","received":"2026-01-01T00:00:00Z"}}`,
		`{"event":null,"call":null}`, `{"eventId":1e3}`, `{"eventId":99999999999999999999}`, `{"event":"\xff"}`,
		`{"times":{"upstream":"bad"}}`, `{} x`, `[]`, `{"call":{"calling":{}}}`,
	} {
		checkFastDecode(t, []byte(s))
		var got, want Data
		gotErr := unmarshalData([]byte(s), &got)
		wantErr := json.Unmarshal([]byte(s), &want)
		if (gotErr == nil) != (wantErr == nil) || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: unmarshalData %v %#v, encoding/json %v %#v", s, gotErr, got, wantErr, want)
		}
	}
}

func FuzzDataDecode(f *testing.F) {
	for _, ev := range sampleEvents() {
		b, _ := json.Marshal(ev.Data)
		f.Add(b)
	}
	f.Add([]byte(`{"event":"A","eventId":-0,"times":{"upstream":"2026-01-01T00:00:00+01:00","received":"2026-01-01T00:00:00Z"},"terminal":{"name":"x","addresses":[],"registered":false}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkFastDecode(t, data)
	})
}

func BenchmarkUnmarshalDataFast(b *testing.B) {
	ev := sampleCallEvent()
	data, _ := json.Marshal(ev.Data)
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		var d Data
		if err := unmarshalData(data, &d); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshalDataEncodingJSON(b *testing.B) {
	ev := sampleCallEvent()
	data, _ := json.Marshal(ev.Data)
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		var d Data
		if err := json.Unmarshal(data, &d); err != nil {
			b.Fatal(err)
		}
	}
}
