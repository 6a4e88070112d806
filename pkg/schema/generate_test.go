package schema

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

// go generate ./pkg/schema (go test -run ^TestGenerated -update) rewrites
// the files derived from the Go types; without -update the same tests
// fail when a committed file is stale.
var update = flag.Bool("update", false, "rewrite the generated docs/schemas, docs/events.md sections and fuzz seeds")

// docsDir is the repository's docs/ directory, seen from this package.
const docsDir = "../../docs"

// checkGenerated compares (or, with -update, writes) a generated file.
func checkGenerated(t *testing.T, path string, want []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v: run `go generate ./pkg/schema` to create it", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is stale: run `go generate ./pkg/schema` and commit the result", path)
	}
}
