package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Fuzz inputs for Decode are a header block ("Name: value" lines; a name
// may repeat) and a payload.

func parseHeaderBlock(s string) map[string][]string {
	h := map[string][]string{}
	for line := range strings.SplitSeq(s, "\n") {
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		value = strings.TrimPrefix(value, " ")
		h[name] = append(h[name], value)
	}
	return h
}

func headerBlock(h map[string][]string) string {
	var sb strings.Builder
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range h[k] {
			fmt.Fprintf(&sb, "%s: %s\n", k, v)
		}
	}
	return sb.String()
}

type decodeSeed struct {
	name    string
	headers string
	payload []byte
}

// decodeSeeds are the checked-in corpus of FuzzDecode: every sample event
// in both modes, and a few malformed variants.
func decodeSeeds(t testing.TB) []decodeSeed {
	var seeds []decodeSeed
	for _, mode := range []Mode{ModeBinary, ModeStructured} {
		enc := mustEncoder(t, EncoderConfig{Cluster: "lab", Mode: mode})
		for i, ev := range sampleEvents() {
			m, err := enc.Encode(&ev, sampleTime)
			if err != nil {
				t.Fatal(err)
			}
			seeds = append(seeds, decodeSeed{fmt.Sprintf("%s-%02d-%s", mode, i, ev.Name), headerBlock(m.Header), m.Data})
		}
	}
	h, data := binaryHeaders(t)
	h["Ce-Subject"] = []string{"%C0%A0"}
	delete(h, HeaderSubject)
	seeds = append(seeds,
		decodeSeed{"bad-overlong", headerBlock(h), data},
		decodeSeed{"bad-quoted", "ce-specversion: \"1.0\"\nce-id: \"a\\\"b\"\nce-source: x\nce-type: io.ctibridge.bridge.BridgeStarted.v1\n", []byte(`{"event":"BridgeStarted","times":{"upstream":"2026-01-01T00:00:00Z","received":"2026-01-01T00:00:00Z"},"bridge":{}}`)},
		decodeSeed{"structured-base64", "content-type: application/cloudevents+json\n",
			[]byte(`{"specversion":"1.0","id":"s-000000000001","source":"cti://lab","type":"io.ctibridge.bridge.BridgeStarted.v1","providersession":"s","data_base64":"eyJldmVudCI6IkJyaWRnZVN0YXJ0ZWQiLCJ0aW1lcyI6eyJ1cHN0cmVhbSI6IjIwMjYtMDEtMDFUMDA6MDA6MDBaIiwicmVjZWl2ZWQiOiIyMDI2LTAxLTAxVDAwOjAwOjAwWiJ9LCJicmlkZ2UiOnt9fQ=="}`)},
		decodeSeed{"empty", "", nil},
	)
	return seeds
}

// fuzzSeedFile renders values in the go test fuzz v1 corpus format.
func fuzzSeedFile(vals ...any) []byte {
	var b bytes.Buffer
	b.WriteString("go test fuzz v1\n")
	for _, v := range vals {
		switch v := v.(type) {
		case string:
			fmt.Fprintf(&b, "string(%s)\n", strconv.Quote(v))
		case []byte:
			fmt.Fprintf(&b, "[]byte(%s)\n", strconv.Quote(string(v)))
		case uint64:
			fmt.Fprintf(&b, "uint64(%d)\n", v)
		case bool:
			fmt.Fprintf(&b, "bool(%t)\n", v)
		default:
			panic(fmt.Sprintf("fuzzSeedFile: %T", v))
		}
	}
	return b.Bytes()
}

func TestGeneratedFuzzSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz")
	for _, s := range decodeSeeds(t) {
		checkGenerated(t, filepath.Join(dir, "FuzzDecode", s.name), fuzzSeedFile(s.headers, s.payload))
	}
	for i, s := range []string{"", "~", "~7E", "SEP001122334455", "+49~2030~201234", "Zo~C3~AB", "~2e", "~41", "~G0", "a.b", "~C0~A0"} {
		checkGenerated(t, filepath.Join(dir, "FuzzUnescapeToken", fmt.Sprintf("seed-%02d", i)), fuzzSeedFile(s))
	}
	for i, s := range keyTokenSeeds {
		checkGenerated(t, filepath.Join(dir, "FuzzUnescapeKeyToken", fmt.Sprintf("seed-%02d", i)), fuzzSeedFile(s))
	}
	for i, s := range subjectSeeds {
		checkGenerated(t, filepath.Join(dir, "FuzzParseSubject", fmt.Sprintf("seed-%02d", i)), fuzzSeedFile(s))
	}
	for i, ev := range sampleEvents() {
		checkGenerated(t, filepath.Join(dir, "FuzzDataJSON", fmt.Sprintf("seed-%02d", i)),
			fuzzSeedFile(uint64(i), uint64(len(ev.Name)), ev.Entity, ev.Name, i%2 == 0))
		data, err := json.Marshal(ev.Data)
		if err != nil {
			t.Fatal(err)
		}
		checkGenerated(t, filepath.Join(dir, "FuzzDataDecode", fmt.Sprintf("seed-%02d", i)), fuzzSeedFile(data))
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range decodeSeeds(f) {
		f.Add(s.headers, s.payload)
	}
	enc := mustEncoder(f, EncoderConfig{Cluster: "lab"})
	encS := mustEncoder(f, EncoderConfig{Cluster: "lab", Mode: ModeStructured})
	f.Fuzz(func(t *testing.T, headers string, payload []byte) {
		h := parseHeaderBlock(headers)
		env, ev, err := Decode(h, payload)
		if err != nil {
			if !errors.Is(err, ErrDecode) {
				t.Fatalf("error %v does not wrap ErrDecode", err)
			}
			return
		}
		if env.ID == "" || env.Source == "" || env.Type == "" || env.SpecVersion != SpecVersion {
			t.Fatalf("accepted an event without required attributes: %+v", env)
		}
		// A structured event read by the member scan reads the same with
		// encoding/json.
		if ct := firstFold(h, "content-type"); strings.HasPrefix(strings.ToLower(ct), "application/cloudevents") {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(payload, &m); err != nil {
				t.Fatalf("accepted a structured event encoding/json rejects: %v", err)
			}
			for name, got := range map[string]string{"id": env.ID, "source": env.Source, "type": env.Type, "subject": env.Subject, ExtProviderSession: env.Session} {
				var want string
				if r, ok := m[name]; ok && string(r) != "null" {
					if err := json.Unmarshal(r, &want); err != nil {
						t.Fatalf("%s: %v", name, err)
					}
				}
				if got != want {
					t.Fatalf("attribute %s: read %q, encoding/json %q", name, got, want)
				}
			}
		}
		// Whatever decodes and is a valid bridge event re-encodes, in
		// both modes, to the same event.
		for _, e := range []*Encoder{enc, encS} {
			m, err := e.Encode(&ev, ev.Data.Times.Published)
			if err != nil {
				return
			}
			_, ev2, err := Decode(m.Header, m.Data)
			if err != nil {
				t.Fatalf("re-encoded event does not decode: %v", err)
			}
			want := ev
			if want.Data.Event == "" {
				want.Data.Event = want.Name
			}
			if spec, _ := Spec(want.Name); want.Data.EventID == 0 {
				want.Data.EventID = spec.ID
			}
			a, _ := json.Marshal(want.Data)
			b, _ := json.Marshal(ev2.Data)
			if !bytes.Equal(a, b) {
				t.Fatalf("data changed on re-encoding:\n%s\n%s", a, b)
			}
			want.Data, ev2.Data = Data{}, Data{}
			if !want.Time.Equal(ev2.Time) || !want.Received.Equal(ev2.Received) {
				t.Fatalf("times changed on re-encoding")
			}
			want.Time, ev2.Time, want.Received, ev2.Received = time.Time{}, time.Time{}, time.Time{}, time.Time{}
			if want != ev2 {
				t.Fatalf("event changed on re-encoding:\n%+v\n%+v", want, ev2)
			}
		}
	})
}

func firstFold(h map[string][]string, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

func TestFuzzSeedDirsExist(t *testing.T) {
	for _, name := range []string{"FuzzDecode", "FuzzUnescapeToken", "FuzzDataJSON", "FuzzDataDecode"} {
		entries, err := os.ReadDir(filepath.Join("testdata", "fuzz", name))
		if err != nil || len(entries) == 0 {
			t.Errorf("no checked-in seed corpus for %s (%v): run go generate ./pkg/schema", name, err)
		}
	}
}
