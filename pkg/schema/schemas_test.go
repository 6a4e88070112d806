package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/invopop/jsonschema"
	jsv "github.com/santhosh-tekuri/jsonschema/v6"
)

const schemaDir = docsDir + "/schemas"

// EnvelopeSchemaFile is the schema of Data with every section allowed.
const envelopeSchemaFile = "data.v1.json"

var familyTitles = map[Family]string{
	FamilyProvider: "Provider events: the JTAPI provider, its CTIManager links and failover",
	FamilyTerminal: "Terminal events: devices (phones, CTI ports, route points), registration and media",
	FamilyAddress:  "Address events: lines (directory numbers)",
	FamilyCall:     "Call events: calls, connections and terminal connections, transfers and conferences",
	FamilyRoute:    "Route events: route-point route sessions",
	FamilyBridge:   "Bridge events: the bridge's own lifecycle and gap records",
}

// sectionOf is the data property of a family's own section.
func sectionOf(f Family) string { return string(f) }

func reflector(t *testing.T) *jsonschema.Reflector {
	r := &jsonschema.Reflector{ExpandedStruct: true}
	if err := r.AddGoComments("github.com/ctibridge/ctibridge/pkg/schema", "."); err != nil {
		t.Fatal(err)
	}
	return r
}

// familySchema derives a family's data schema from the Data type: only
// the family's own section (required) and, where allowed, media; the
// event name limited to the family's events.
func familySchema(t *testing.T, f Family) *jsonschema.Schema {
	s := reflector(t).Reflect(&Data{})
	s.ID = jsonschema.ID(DataSchemaURI(f))
	s.Title = familyTitles[f]
	s.Description = fmt.Sprintf("The data of every %s%s<Event>%s CloudEvent (dataschema %s).",
		TypePrefix, f+".", TypeVersion, DataSchemaURI(f))
	for _, other := range Families {
		if other != f {
			s.Properties.Delete(sectionOf(other))
		}
	}
	if !MediaAllowed(f) {
		s.Properties.Delete("media")
	}
	s.Required = append(s.Required, sectionOf(f))
	ev, _ := s.Properties.Get("event")
	for _, e := range Events {
		if e.Family == f {
			ev.Enum = append(ev.Enum, e.Name)
		}
	}
	pruneDefs(s)
	return s
}

func envelopeSchema(t *testing.T) *jsonschema.Schema {
	s := reflector(t).Reflect(&Data{})
	s.ID = jsonschema.ID(SchemaBaseURI + envelopeSchemaFile)
	s.Title = "Data of every ctibridge event"
	s.Description = "The common data envelope; each family's schema narrows it to the family's section."
	pruneDefs(s)
	return s
}

// pruneDefs drops the definitions no longer referenced.
func pruneDefs(s *jsonschema.Schema) {
	used := map[string]bool{}
	var walk func(x *jsonschema.Schema)
	walk = func(x *jsonschema.Schema) {
		if x == nil {
			return
		}
		if name, ok := strings.CutPrefix(x.Ref, "#/$defs/"); ok && !used[name] {
			used[name] = true
			walk(s.Definitions[name])
		}
		if x.Properties != nil {
			for p := x.Properties.Oldest(); p != nil; p = p.Next() {
				walk(p.Value)
			}
		}
		walk(x.Items)
		for _, y := range x.AnyOf {
			walk(y)
		}
		for _, y := range x.OneOf {
			walk(y)
		}
	}
	walk(s)
	for name := range s.Definitions {
		if !used[name] {
			delete(s.Definitions, name)
		}
	}
}

func marshalSchema(t *testing.T, s *jsonschema.Schema) []byte {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

func TestGeneratedSchemas(t *testing.T) {
	want := map[string][]byte{envelopeSchemaFile: marshalSchema(t, envelopeSchema(t))}
	for _, f := range Families {
		want[SchemaFile(f)] = marshalSchema(t, familySchema(t, f))
	}
	for name, b := range want {
		checkGenerated(t, filepath.Join(schemaDir, name), b)
	}
	// No leftover schema files.
	entries, err := os.ReadDir(schemaDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if _, ok := want[e.Name()]; !ok {
			t.Errorf("%s/%s is not generated from the Go types: remove it", schemaDir, e.Name())
		}
	}
}

// compileSchemas loads the committed schemas under their $id.
func compileSchemas(t *testing.T) map[Family]*jsv.Schema {
	c := jsv.NewCompiler()
	c.AssertFormat()
	files, err := filepath.Glob(filepath.Join(schemaDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no schemas in %s (%v)", schemaDir, err)
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsv.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if err := c.AddResource(SchemaBaseURI+filepath.Base(p), doc); err != nil {
			t.Fatal(err)
		}
	}
	out := map[Family]*jsv.Schema{}
	for _, f := range Families {
		s, err := c.Compile(DataSchemaURI(f))
		if err != nil {
			t.Fatalf("compile %s: %v", f, err)
		}
		out[f] = s
	}
	return out
}

func validateData(s *jsv.Schema, data []byte) error {
	v, err := jsv.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return err
	}
	return s.Validate(v)
}

func TestEncodedDataMatchesSchemas(t *testing.T) {
	schemas := compileSchemas(t)
	enc := mustEncoder(t, EncoderConfig{Cluster: "lab"})
	families := map[Family]bool{}
	for _, ev := range sampleEvents() {
		m, err := enc.Encode(&ev, sampleTime)
		if err != nil {
			t.Fatal(err)
		}
		if err := validateData(schemas[ev.Family], m.Data); err != nil {
			t.Errorf("%s data does not match %s: %v\n%s", ev.Name, DataSchemaURI(ev.Family), err, m.Data)
		}
		families[ev.Family] = true
		// And it must not match another family's schema.
		for _, f := range Families {
			if f != ev.Family && validateData(schemas[f], m.Data) == nil {
				t.Errorf("%s data also matches the %s schema", ev.Name, f)
			}
		}
	}
	if len(families) != len(Families) {
		t.Errorf("samples cover %d of %d families", len(families), len(Families))
	}
	// The schemas catch what a consumer cares about.
	bad := []struct{ name, data string }{
		{"missing times", `{"event":"CallActiveEv","call":{"callId":"1"}}`},
		{"unknown event", `{"event":"NoSuchEv","times":{"upstream":"2026-01-01T00:00:00Z","received":"2026-01-01T00:00:00Z"},"call":{"callId":"1"}}`},
		{"bad time", `{"event":"CallActiveEv","times":{"upstream":"yesterday","received":"2026-01-01T00:00:00Z"},"call":{"callId":"1"}}`},
		{"unknown field", `{"event":"CallActiveEv","x":1,"times":{"upstream":"2026-01-01T00:00:00Z","received":"2026-01-01T00:00:00Z"},"call":{"callId":"1"}}`},
		{"no section", `{"event":"CallActiveEv","times":{"upstream":"2026-01-01T00:00:00Z","received":"2026-01-01T00:00:00Z"}}`},
	}
	for _, b := range bad {
		if validateData(schemas[FamilyCall], []byte(b.data)) == nil {
			t.Errorf("%s: accepted by the call schema", b.name)
		}
	}
}

func TestSchemaFilesHaveIDs(t *testing.T) {
	for _, f := range Families {
		b, err := os.ReadFile(filepath.Join(schemaDir, SchemaFile(f)))
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			ID       string   `json:"$id"`
			Required []string `json:"required"`
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		if doc.ID != DataSchemaURI(f) || !slices.Contains(doc.Required, string(f)) {
			t.Errorf("%s: $id %q required %v", SchemaFile(f), doc.ID, doc.Required)
		}
	}
}
