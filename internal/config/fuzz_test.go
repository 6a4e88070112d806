package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// fieldRE matches a problem that names a configuration key: a top-level
// section, then .key, [index] or ["quoted key"] elements, then ": " or
// " (line N): ". Unknown top-level keys are quoted.
var fieldRE = regexp.MustCompile(`^(top level|"(?:[^"\\]|\\.)*"|[A-Za-z0-9_+-]+)((\.[A-Za-z0-9_+-]+)|(\[[0-9]+\])|(\["(?:[^"\\]|\\.)*"\]))*( \(line [0-9]+\))?: `)

// syntaxPrefix starts a YAML syntax error: there is no key to name when
// the document does not parse (yaml names the line when it knows it).
const syntaxPrefix = "config: the file is not valid YAML: yaml: "

// problems returns the problem lines of a joined error (Parse's type
// errors and Validate's problems), nil for any other error.
func problems(err error) []error {
	var joined indented
	if errors.As(err, &joined) {
		return joined
	}
	return nil
}

func checkProblems(t *testing.T, what string, err error) {
	t.Helper()
	ps := problems(err)
	if len(ps) == 0 {
		t.Fatalf("%s error is not a list of problems: %q", what, err)
	}
	for _, p := range ps {
		s := p.Error()
		if strings.Contains(s, "\n") {
			t.Fatalf("%s problem spans lines (a key or value broke out of its line): %q", what, s)
		}
		if !fieldRE.MatchString(s) {
			t.Fatalf("%s problem does not name a field: %q", what, s)
		}
	}
}

// FuzzParse feeds arbitrary documents to Parse and Validate: neither may
// panic or take long, every decoding or validation problem names the key
// it concerns on a line of its own, and a configuration that validates is
// stable (validating again, or re-parsing the same bytes, gives the same
// answer). Seeds: deploy/bridge.yaml and variants in testdata/fuzz/FuzzParse.
//
//	go test -run='^$' -fuzz='^FuzzParse$' -fuzztime=3m ./internal/config
func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("..", "..", "deploy", "bridge.yaml")); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		if len(doc) > 64<<10 {
			return // Parse refuses files over 4 MiB; the fuzzer needs no more than this
		}
		start := time.Now()
		cfg, err := Parse(doc, Default())
		if err != nil {
			if !strings.HasPrefix(err.Error(), "config: ") {
				t.Fatalf("error lacks the package prefix: %q", err)
			}
			if problems(err) != nil {
				checkProblems(t, "Parse", err)
			} else if !strings.HasPrefix(err.Error(), syntaxPrefix) {
				t.Fatalf("Parse error names neither a key nor a line: %q", err)
			}
			return
		}
		// Secrets come from the environment in deployments; give the
		// fuzzer's documents one so that Validate looks further.
		if cfg.CTI.Password == "" {
			cfg.CTI.Password = "from-the-environment"
		}
		verr := cfg.Validate()
		if verr != nil {
			if !strings.HasPrefix(verr.Error(), "config: ") {
				t.Fatalf("Validate error lacks the package prefix: %q", verr)
			}
			checkProblems(t, "Validate", verr)
		}
		again := cfg.Validate()
		if (verr == nil) != (again == nil) || (verr != nil && !sameProblems(verr, again)) {
			t.Fatalf("Validate is not deterministic:\n%v\n%v", verr, again)
		}
		cfg2, err := Parse(bytes.Clone(doc), Default())
		if err != nil {
			t.Fatalf("second Parse of the same bytes failed: %v", err)
		}
		cfg2.CTI.Password = cfg.CTI.Password
		if v2 := cfg2.Validate(); (v2 == nil) != (verr == nil) {
			t.Fatalf("re-parsed configuration validates differently: %v vs %v", verr, v2)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("Parse and Validate took %v for a %d-byte document", d, len(doc))
		}
	})
}

// sameProblems compares two Validate results as sets of lines (map
// iteration order may list the problems of map entries differently).
func sameProblems(a, b error) bool {
	count := map[string]int{}
	for _, p := range problems(a) {
		count[p.Error()]++
	}
	for _, p := range problems(b) {
		count[p.Error()]--
	}
	for _, n := range count {
		if n != 0 {
			return false
		}
	}
	return true
}

// A document built to expand exponentially through aliases (10^12
// strings if expanded) is refused at once: the configuration's types are
// shallow, so the decoder never expands an alias beyond their depth.
func TestParseAliasBombIsBounded(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("x0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i <= 11; i++ {
		ref := fmt.Sprintf("*a%d", i-1)
		fmt.Fprintf(&sb, "x%d: &a%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(ref+", ", 10), ", "))
	}
	sb.WriteString("cti:\n  observe: *a11\n")
	start := time.Now()
	_, err := Parse([]byte(sb.String()), Default())
	if err == nil {
		t.Fatal("alias bomb accepted")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("alias bomb took %v to refuse", d)
	}
	t.Logf("refused in %v: %v", time.Since(start), err)
}
