package schema

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"reflect"
	"strings"
	"time"
)

// dataLayout is the fingerprint of the Data type tree that appendData was
// written for. If someone adds, removes or retags a field of Data or of a
// type it contains, the fingerprint changes: Encode then falls back to
// encoding/json (correct, slower) and TestDataLayout fails with the new
// value, asking for appendData to be updated.
const dataLayout = "90fefa51f7b9fc59"

// fastData reports whether appendData matches the current Data types.
var fastData = dataFingerprint() == dataLayout

// dataFingerprint hashes every struct reachable from Data: field names,
// types and tags, in order.
func dataFingerprint() string {
	var sb strings.Builder
	seen := map[reflect.Type]bool{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || t == reflect.TypeFor[time.Time]() || seen[t] {
			return
		}
		seen[t] = true
		fmt.Fprintf(&sb, "%s{", t.Name())
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			fmt.Fprintf(&sb, "%s %s %q;", f.Name, f.Type, f.Tag.Get("json"))
		}
		sb.WriteString("}")
		for i := 0; i < t.NumField(); i++ {
			walk(t.Field(i).Type)
		}
	}
	walk(reflect.TypeFor[Data]())
	h := fnv.New64a()
	h.Write([]byte(sb.String()))
	return fmt.Sprintf("%016x", h.Sum64())
}

// marshalData appends the JSON of d, with the fast appender when it
// matches the types.
func marshalData(b []byte, d *Data) ([]byte, error) {
	if fastData {
		return appendData(b, d)
	}
	dd := *d // keeps d itself from escaping on the fast path
	j, err := json.Marshal(&dd)
	if err != nil {
		return nil, err
	}
	return append(b, j...), nil
}
