package schema

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

// filler sets every field of a value, recursively, from a random source:
// the differential tests then cover every field, including ones added to
// the types after appendData was written (TestDataLayout catches those).
type filler struct {
	r       *rand.Rand
	strs    []string
	sparse  bool // leave about half of the fields at their zero value
	badTime bool // allow times JSON cannot represent
}

var fillerStrings = []string{
	"", "a", "SEP001122334455", "1001", "+49 30 1234", "<b>&amp;</b>", "quote\"back\\slash",
	"ctl\x00\x01\x1f\x7f", "\b\f\n\r\t", "Zoë 電話", "\u2028\u2029", "\xff\xfe bad utf8 \xc0\xa0",
	"\U0001F4DE emoji", "ok-ASCII_only.string", "%41", "~7E",
}

func (f *filler) time() time.Time {
	zones := []*time.Location{time.UTC, time.FixedZone("CET", 3600), time.FixedZone("odd", -(5*3600 + 30*60 + 15))}
	sec := f.r.Int64N(4102444800) // 1970..2100
	if f.badTime && f.r.IntN(8) == 0 {
		sec = []int64{-62167219300, 253402300900, 1 << 40}[f.r.IntN(3)]
	}
	if f.r.IntN(10) == 0 {
		return time.Time{}
	}
	t := time.Unix(sec, f.r.Int64N(1e9)).In(zones[f.r.IntN(len(zones))])
	if f.r.IntN(3) == 0 {
		t = t.Truncate(time.Second)
	}
	return t
}

func (f *filler) fill(v reflect.Value) {
	if v.Type() == reflect.TypeFor[time.Time]() {
		v.Set(reflect.ValueOf(f.time()))
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if f.sparse && f.r.IntN(2) == 0 {
				continue
			}
			f.fill(v.Field(i))
		}
	case reflect.Pointer:
		if f.r.IntN(4) == 0 {
			return
		}
		p := reflect.New(v.Type().Elem())
		f.fill(p.Elem())
		v.Set(p)
	case reflect.Slice:
		n := f.r.IntN(4)
		s := reflect.MakeSlice(v.Type(), n, n)
		for i := 0; i < n; i++ {
			f.fill(s.Index(i))
		}
		if n > 0 || f.r.IntN(2) == 0 {
			v.Set(s)
		}
	case reflect.String:
		v.SetString(f.strs[f.r.IntN(len(f.strs))])
	case reflect.Bool:
		v.SetBool(f.r.IntN(2) == 0)
	case reflect.Int, reflect.Int64, reflect.Int32:
		switch f.r.IntN(4) {
		case 0:
			v.SetInt(0)
		case 1:
			v.SetInt(-f.r.Int64N(1 << 40))
		default:
			v.SetInt(f.r.Int64N(1 << 31))
		}
	case reflect.Uint64:
		switch f.r.IntN(3) {
		case 0:
			v.SetUint(0)
		case 1:
			v.SetUint(f.r.Uint64()) // beyond the fast decoder's 18 digits
		default:
			v.SetUint(f.r.Uint64N(1 << 31))
		}
	default:
		panic("filler: unhandled kind " + v.Kind().String() + " in " + v.Type().String())
	}
}

func checkSameJSON(t *testing.T, d *Data) {
	t.Helper()
	want, wantErr := json.Marshal(d)
	got, gotErr := appendData(nil, d)
	if (wantErr != nil) != (gotErr != nil) {
		t.Fatalf("encoding/json error %v, appendData error %v\nvalue %#v", wantErr, gotErr, d)
	}
	if wantErr == nil && string(got) != string(want) {
		t.Fatalf("appendData differs from encoding/json:\n got %s\nwant %s", got, want)
	}
}

func TestAppendDataMatchesEncodingJSON(t *testing.T) {
	for _, ev := range sampleEvents() {
		checkSameJSON(t, &ev.Data)
	}
	checkSameJSON(t, &Data{})
	for i := range 5000 {
		f := filler{r: rand.New(rand.NewPCG(uint64(i), 7)), strs: fillerStrings, sparse: i%2 == 0, badTime: i%5 == 0}
		var d Data
		f.fill(reflect.ValueOf(&d).Elem())
		checkSameJSON(t, &d)
	}
}

func TestDataLayout(t *testing.T) {
	if got := dataFingerprint(); got != dataLayout {
		t.Fatalf("the Data types changed (fingerprint %s, appendData written for %s): update appendData in datajson.go "+
			"for the new fields, then set dataLayout in layout.go to %q (Encode uses encoding/json until then)", got, dataLayout, got)
	}
	if !fastData {
		t.Fatal("fastData is false although the fingerprint matches")
	}
}

func FuzzDataJSON(f *testing.F) {
	f.Add(uint64(1), uint64(2), "x", "Zoë <&>", false)
	f.Add(uint64(3), uint64(4), "\xff\u2028", "\x00", true)
	f.Fuzz(func(t *testing.T, s1, s2 uint64, a, b string, sparse bool) {
		fl := filler{r: rand.New(rand.NewPCG(s1, s2)), strs: append([]string{a, b}, fillerStrings[:4]...), sparse: sparse, badTime: true}
		var d Data
		fl.fill(reflect.ValueOf(&d).Elem())
		checkSameJSON(t, &d)
	})
}

func TestAppendUTCMatchesAppendFormat(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for i := range 100000 {
		sec := r.Int64N(253402300800) - 62135596800 // years 0001..9999
		ns := r.Int64N(1e9)
		switch i % 4 {
		case 0:
			ns = 0
		case 1:
			ns -= ns % 1000
		}
		tm := time.Unix(sec, ns).UTC()
		if !utcFast(tm) {
			t.Fatalf("%v not fast", tm)
		}
		if got, want := string(appendUTC(nil, tm)), tm.Format(time.RFC3339Nano); got != want {
			t.Fatalf("appendUTC %q, AppendFormat %q", got, want)
		}
	}
	if utcFast(time.Now().In(time.FixedZone("x", 0))) || utcFast(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatal("utcFast accepted a non-UTC location or a 5-digit year")
	}
}
