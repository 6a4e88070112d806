package ctilink_test

import (
	"bufio"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
)

// docField is one row of a field table in docs/protocol.md.
type docField struct{ name, typ, omitted string }

// readDocTables returns the field tables of docs/protocol.md keyed by their
// heading ("0x87 CallState", "Party", …).
func readDocTables(t *testing.T) (map[string][]docField, string) {
	t.Helper()
	raw, err := os.ReadFile("../../docs/protocol.md")
	if err != nil {
		t.Fatalf("reading the protocol document: %v", err)
	}
	tables := map[string][]docField{}
	var heading string
	sc := bufio.NewScanner(strings.NewReader(string(raw)))
	for sc.Scan() {
		line := sc.Text()
		if h, ok := strings.CutPrefix(line, "#### "); ok {
			heading = h
			tables[heading] = []docField{}
			continue
		}
		if strings.HasPrefix(line, "#") {
			heading = ""
		}
		if heading == "" || !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(line, "|")
		if len(cells) < 5 {
			t.Fatalf("%s: short table row %q", heading, line)
		}
		tables[heading] = append(tables[heading], docField{
			name:    strings.Trim(strings.TrimSpace(cells[1]), "`"),
			typ:     strings.TrimSpace(cells[2]),
			omitted: strings.TrimSpace(cells[3]),
		})
	}
	return tables, string(raw)
}

// docType is how docs/protocol.md names the JSON type of a Go field.
func docType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Int64:
		return t.Kind().String()
	case reflect.Int:
		return "integer"
	case reflect.Struct:
		return t.Name()
	case reflect.Slice:
		return "array of " + docType(t.Elem())
	}
	return "unsupported " + t.String()
}

// TestProtocolDocMatchesMessages checks docs/protocol.md §7 against the
// message structs: every message and shared object has a table listing
// exactly its JSON fields, in order, with the right JSON type (and the
// enumeration's name for named integer types) and the right "omitted when
// zero" mark (omitempty on a non-struct field).
func TestProtocolDocMatchesMessages(t *testing.T) {
	tables, _ := readDocTables(t)
	check := func(heading string, st reflect.Type) {
		rows, ok := tables[heading]
		if !ok {
			t.Errorf("docs/protocol.md has no table %q", heading)
			return
		}
		var want []docField
		for i := range st.NumField() {
			f := st.Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue // the receiver's own notes (Rejected), never sent
			}
			omitted := ""
			if opts == "omitempty" && f.Type.Kind() != reflect.Struct {
				omitted = "yes"
			}
			want = append(want, docField{name: name, typ: docType(f.Type), omitted: omitted})
			if f.Type.Kind() == reflect.Struct {
				want[len(want)-1].typ = f.Type.Name()
			} else if f.Type.PkgPath() != "" { // named enumeration
				want[len(want)-1].typ = fmt.Sprintf("%s (%s)", docType(f.Type), f.Type.Name())
			}
		}
		if len(rows) != len(want) {
			t.Errorf("%s: document lists %d fields, code has %d", heading, len(rows), len(want))
		}
		for i := range min(len(rows), len(want)) {
			if rows[i] != want[i] {
				t.Errorf("%s field %d: document %+v, code %+v", heading, i+1, rows[i], want[i])
			}
		}
	}
	for _, m := range sampleMessages() {
		check(fmt.Sprintf("0x%02X %s", uint16(m.Type()), m.Type()), reflect.TypeOf(m))
	}
	for _, v := range []any{ctilink.Party{}, ctilink.MediaParams{}, ctilink.DeviceInfo{}, ctilink.LineInfo{}} {
		check(reflect.TypeOf(v).Name(), reflect.TypeOf(v))
	}
}

// TestProtocolDocEnumerations checks that docs/protocol.md §8 has a row
// "| value | `NAME` |" for every named value of every enumeration.
func TestProtocolDocEnumerations(t *testing.T) {
	_, doc := readDocTables(t)
	row := func(v any, name string) {
		if s := fmt.Sprintf("| %v | `%s` |", v, name); !strings.Contains(doc, s) {
			t.Errorf("docs/protocol.md lacks the row %q", s)
		}
	}
	for v := range 256 {
		if s := ctilink.CallState(v); s.Valid() {
			row(v, s.String())
		}
		if r := ctilink.ConnReason(v); !strings.HasPrefix(r.String(), "ConnReason(") {
			row(v, r.String())
		}
		if r := ctilink.FeatureReason(v); !strings.HasPrefix(r.String(), "FeatureReason(") {
			row(v, r.String())
		}
	}
	for v := range 1024 {
		if c := ctilink.Cause(v); !strings.HasPrefix(c.String(), "Cause(") {
			row(v, c.String())
		}
		if r := ctilink.CloseReason(v); !strings.HasPrefix(r.String(), "CloseReason(") {
			row(v, r.String())
		}
		if r := ctilink.OutOfServiceReason(v); !strings.HasPrefix(r.String(), "OutOfServiceReason(") {
			row(v, r.String())
			if jc := r.JTAPICause(); jc != 0 && !strings.Contains(doc, fmt.Sprintf("| %d | `%s` | %d |", v, r, jc)) {
				t.Errorf("docs/protocol.md: %s should map to JTAPI cause %d", r, jc)
			}
		}
		if r := ctilink.Result(v); !strings.HasPrefix(r.String(), "Result(") {
			row(v, r.String())
		}
	}
	// ErrorCode, RegistrationReason and the string enumerations have no
	// String method: their names are listed here.
	for code, name := range map[ctilink.ErrorCode]string{
		ctilink.ErrCodeMalformed: "MALFORMED", ctilink.ErrCodeUnknownType: "UNKNOWN_TYPE",
		ctilink.ErrCodeInvalidMessage: "INVALID_MESSAGE", ctilink.ErrCodeFrameTooLarge: "FRAME_TOO_LARGE",
		ctilink.ErrCodeVersion: "VERSION", ctilink.ErrCodeNotOpen: "NOT_OPEN",
		ctilink.ErrCodeUnexpected: "UNEXPECTED", ctilink.ErrCodeBadMagic: "BAD_MAGIC",
	} {
		row(uint16(code), name)
	}
	for r, name := range map[ctilink.RegistrationReason]string{ctilink.RegReasonUnknown: "UNKNOWN",
		ctilink.RegReasonReset: "RESET", ctilink.RegReasonLogin: "LOGIN", ctilink.RegReasonLogout: "LOGOUT"} {
		row(uint8(r), name)
	}
	for _, s := range []string{string(ctilink.DevicePhone), string(ctilink.DeviceCTIPort), string(ctilink.DeviceRoutePoint),
		ctilink.FeatureTransfer, ctilink.FeatureConference,
		ctilink.RouteKindRoute, ctilink.RouteKindReRoute, ctilink.RouteKindUsed, ctilink.RouteKindEnd,
		ctilink.MediaOpenLogicalChannel, ctilink.MediaRTPInputStarted, ctilink.MediaRTPOutputStarted,
		ctilink.MediaRTPInputStopped, ctilink.MediaRTPOutputStopped} {
		if !strings.Contains(doc, "`"+s+"`") {
			t.Errorf("docs/protocol.md does not mention `%s`", s)
		}
	}
	// The constants the document quotes.
	for _, s := range []string{
		fmt.Sprintf("0x%08X", ctilink.Magic), fmt.Sprintf("**%d bytes** (256 KiB", ctilink.DefaultMaxFrameSize),
		fmt.Sprintf("**%d bytes** (4 MiB", ctilink.HardMaxFrameSize), fmt.Sprintf("MaxNameLen = %d", ctilink.MaxNameLen),
		fmt.Sprintf("version = %d", ctilink.ProtocolVersion), "a 16-byte header",
	} {
		if !strings.Contains(doc, s) {
			t.Errorf("docs/protocol.md does not state %q", s)
		}
	}
	if ctilink.HeaderSize != 16 {
		t.Errorf("HeaderSize is %d; the document says 16", ctilink.HeaderSize)
	}
	// Every message type appears in the summary table with its code.
	for _, typ := range allTypes {
		if s := fmt.Sprintf("| `0x%02X` | %s |", uint16(typ), typ); !strings.Contains(doc, s) {
			t.Errorf("docs/protocol.md summary lacks %q", s)
		}
	}
}
