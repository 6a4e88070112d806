package jetstream

import (
	"go/build"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

const modulePath = "github.com/ctibridge/ctibridge"

// TestNoEngineImport keeps the dependency direction: the publisher knows
// nothing of the CTI state machine (cmd wires them together), directly or
// through another project package.
func TestNoEngineImport(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	forbidden := modulePath + "/pkg/ctiengine"
	seen := map[string]bool{}
	var walk func(path string, chain []string)
	walk = func(path string, chain []string) {
		if seen[path] {
			return
		}
		seen[path] = true
		dir := filepath.Join(root, strings.TrimPrefix(path, modulePath))
		pkg, err := build.ImportDir(dir, 0)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		for _, imp := range pkg.Imports {
			if imp == forbidden || strings.HasPrefix(imp, forbidden+"/") {
				t.Fatalf("%s imports %s (via %s)", modulePath+"/pkg/jetstream", imp, strings.Join(append(chain, path), " → "))
			}
			if strings.HasPrefix(imp, modulePath+"/") {
				walk(imp, append(chain, path))
			}
		}
	}
	walk(modulePath+"/pkg/jetstream", nil)
	if !seen[modulePath+"/pkg/schema"] {
		t.Fatal("walk did not reach pkg/schema: the import walk is broken")
	}
}
