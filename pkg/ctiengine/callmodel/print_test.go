package callmodel

import (
	"fmt"
	"os"
	"testing"
)

// TestPrintScenarios prints the scenario table's current output as Go
// literals (PRINT=1), to help writing expectations. It asserts nothing and
// is skipped by default.
func TestPrintScenarios(t *testing.T) {
	if os.Getenv("PRINT") == "" {
		t.Skip("set PRINT=1 (or a scenario name) to print")
	}
	for _, sc := range scenarios {
		if p := os.Getenv("PRINT"); p != "1" && p != sc.name {
			continue
		}
		got := run(t, sc.cfg, deliver(sc.cfg, sc.msgs(&wire{})))
		fmt.Printf("\t{name: %q, want: []string{\n", sc.name)
		for _, g := range got {
			fmt.Printf("\t\t%q,\n", g)
		}
		fmt.Printf("\t}},\n")
	}
}
