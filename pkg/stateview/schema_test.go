package stateview_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"testing"

	"github.com/invopop/jsonschema"
	jsv "github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/ctibridge/ctibridge/pkg/callstate"
	"github.com/ctibridge/ctibridge/pkg/replaystore/storetest"
	"github.com/ctibridge/ctibridge/pkg/schema"
	"github.com/ctibridge/ctibridge/pkg/stateview"
)

var update = flag.Bool("update", false, "rewrite docs/schemas/stateview-*.v1.json")

// The JSON Schemas of the state view's values, generated from the Go types
// and committed next to the event schemas (go test ./pkg/stateview
// -run TestValueSchemas -update rewrites them).
var valueSchemas = []struct {
	file  string
	title string
	value any
}{
	{"stateview-line.v1.json", "Value of a line's key (line.<dn>) in the state view bucket cti-state", &stateview.Line{}},
	{"stateview-device.v1.json", "Value of a device's key (device.<name>) in the state view bucket cti-state", &stateview.Device{}},
}

func TestValueSchemas(t *testing.T) {
	r := &jsonschema.Reflector{ExpandedStruct: true}
	compiler := jsv.NewCompiler()
	for _, vs := range valueSchemas {
		s := r.Reflect(vs.value)
		s.ID = jsonschema.ID(schema.SchemaBaseURI + vs.file)
		s.Title = vs.title
		out, err := json.MarshalIndent(s, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, '\n')
		path := "../../docs/schemas/" + vs.file
		if *update {
			if err := os.WriteFile(path, out, 0o644); err != nil {
				t.Fatal(err)
			}
		} else if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, out) {
			t.Fatalf("%s is stale or missing (%v): run go test ./pkg/stateview -run TestValueSchemas -update", path, err)
		}
		doc, err := jsv.UnmarshalJSON(bytes.NewReader(out))
		if err != nil {
			t.Fatal(err)
		}
		if err := compiler.AddResource(string(s.ID), doc); err != nil {
			t.Fatal(err)
		}
	}
	line, err := compiler.Compile(schema.SchemaBaseURI + valueSchemas[0].file)
	if err != nil {
		t.Fatal(err)
	}
	device, err := compiler.Compile(schema.SchemaBaseURI + valueSchemas[1].file)
	if err != nil {
		t.Fatal(err)
	}
	// Every value of a log with calls validates.
	fold := callstate.New()
	for _, ev := range storetest.SyntheticLog(storetest.LogConfig{Events: 3000, Lines: 10, Failovers: []int{1500}})[:2900] {
		fold.Apply(ev)
	}
	check := func(s *jsv.Schema, v any) {
		t.Helper()
		raw, _ := stateview.Marshal(v)
		inst, err := jsv.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Validate(inst); err != nil {
			t.Fatalf("%s does not validate: %v", raw, err)
		}
	}
	calls := 0
	for _, a := range fold.Addresses() {
		l, _ := stateview.LineOf(fold, a.DN)
		calls += len(l.Calls)
		check(line, l)
	}
	for _, d := range fold.Terminals() {
		v, _ := stateview.DeviceOf(fold, d.Name)
		check(device, v)
	}
	if calls == 0 {
		t.Fatal("no call in the sample: the schemas were checked on idle lines only")
	}
}
