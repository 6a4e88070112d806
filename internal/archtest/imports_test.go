package archtest

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/ctibridge/ctibridge"

type pkgInfo struct {
	ImportPath string
	Deps       []string
	Doc        string
	Name       string
	GoFiles    []string
}

func listPackages(t *testing.T, patterns ...string) []pkgInfo {
	t.Helper()
	args := append([]string{"list", "-e", "-json"}, patterns...)
	cmd := exec.Command("go", args...)
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkgInfo
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkgInfo
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// rules: a package (prefix) must not depend, even transitively, on any of
// the listed import path prefixes.
var rules = []struct {
	pkg       string
	forbidden []string
	why       string
}{
	{module + "/pkg/schema", []string{module + "/", "github.com/nats-io/"}, "pkg/schema is the shared leaf"},
	{module + "/pkg/ctiengine", []string{"github.com/nats-io/", module + "/pkg/jetstream", module + "/pkg/ctisim"}, "the engine never imports NATS"},
	{module + "/pkg/jetstream", []string{module + "/pkg/ctiengine", module + "/pkg/ctisim"}, "the JetStream layer never imports the engine"},
	{module + "/pkg/ctilink", []string{module + "/", "github.com/nats-io/"}, "the wire protocol stands alone"},
	{module + "/pkg/callstate", []string{"github.com/nats-io/", module + "/pkg/ctiengine"}, "the consumer fold needs only the schema"},
	{module + "/pkg/stateview", []string{module + "/pkg/ctiengine", module + "/pkg/ctisim", module + "/internal/bridge", module + "/internal/faultmatrix"}, "the state view is built from published events only, like any consumer"},
	{module + "/pkg/ctisim", []string{module + "/pkg/ctiengine", module + "/pkg/jetstream", "github.com/nats-io/"}, "the simulator is a CTIManager, it knows nothing of the bridge"},
	{module + "/internal/ha/lease", []string{module + "/", "github.com/nats-io/"}, "the lease core is pure: no I/O, no clock"},
	{module + "/internal/ha/hot", []string{module + "/pkg/ctiengine", module + "/pkg/jetstream", "github.com/nats-io/"}, "the hot standby's takeover rule is pure: schema events in and out"},
	{module + "/internal/ha", []string{module + "/pkg/ctiengine", module + "/pkg/ctisim"}, "the HA layer talks to JetStream; the bridge ties it to the engine"},
}

func TestImportRules(t *testing.T) {
	for _, p := range listPackages(t, "./...") {
		for _, r := range rules {
			if p.ImportPath != r.pkg && !strings.HasPrefix(p.ImportPath, r.pkg+"/") {
				continue
			}
			for _, d := range p.Deps {
				if d == p.ImportPath || strings.HasPrefix(d, r.pkg) {
					continue
				}
				for _, f := range r.forbidden {
					if strings.HasPrefix(d, f) {
						t.Errorf("%s depends on %s: %s", p.ImportPath, d, r.why)
					}
				}
			}
		}
	}
}

func TestCmdOnlyWiresAndNoCmdImportsAnother(t *testing.T) {
	for _, p := range listPackages(t, "./...") {
		if !strings.HasPrefix(p.ImportPath, module+"/cmd/") {
			continue
		}
		own := cmdRoot(p.ImportPath)
		for _, d := range p.Deps {
			if strings.HasPrefix(d, module+"/cmd/") && cmdRoot(d) != own {
				t.Errorf("%s imports %s: commands must not import each other", p.ImportPath, d)
			}
		}
	}
}

func TestEveryPackageHasADocComment(t *testing.T) {
	for _, p := range listPackages(t, "./...") {
		if p.Name == "main" || len(p.GoFiles) == 0 {
			continue
		}
		if strings.TrimSpace(p.Doc) == "" {
			t.Errorf("%s has no package doc comment (add a doc.go)", p.ImportPath)
		}
	}
}

func TestGuardsSeeTheModule(t *testing.T) {
	n := 0
	for _, p := range listPackages(t, "./...") {
		if strings.HasPrefix(p.ImportPath, module+"/") {
			n++
		}
	}
	if n < 3 {
		t.Fatalf("go list found %d module packages; the guards would pass vacuously", n)
	}
}

// cmdRoot is the command a package under cmd/ belongs to (cmd/replay for
// cmd/replay/internal/report).
func cmdRoot(path string) string {
	rest := strings.TrimPrefix(path, module+"/cmd/")
	name, _, _ := strings.Cut(rest, "/")
	return name
}
